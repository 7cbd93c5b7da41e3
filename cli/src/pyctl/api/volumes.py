"""The volumes service, over grpcio (its messages have no wire tables). Imported when first used."""

from pyrunc_proto.pyrunc.volumes.v1 import volumes_pb2 as pb

from .connection import Connection
from .grpcio import unary

_SERVICE = "/pyrunc.volumes.v1.Volumes/"


class VolumesApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def create(self, name: str, *, driver: str, labels: dict[str, str]) -> pb.Volume:
        """`name` "" for an anonymous volume (the daemon names it)."""
        request = pb.CreateVolumeRequest(name=name, driver=driver, labels=labels)
        return unary(self._connection.grpc(), _SERVICE + "Create", request, pb.Volume)

    def ls(self, filters: list[str]) -> list[pb.Volume]:
        """`filters`: docker's KEY=VALUE (dangling=, name=, label=, driver=)."""
        reply = unary(self._connection.grpc(), _SERVICE + "List", pb.ListVolumesRequest(filters=filters),
                      pb.ListVolumesResponse)
        return list(reply.volumes)

    def inspect(self, name: str) -> pb.Volume:
        return unary(self._connection.grpc(), _SERVICE + "Inspect", pb.VolumeRef(name=name), pb.Volume)

    def remove(self, name: str, *, force: bool) -> None:
        unary(self._connection.grpc(), _SERVICE + "Remove", pb.RemoveVolumeRequest(name=name, force=force), pb.Empty)

    def prune(self, *, all: bool, filters: list[str]) -> pb.PruneVolumesResponse:
        """Remove the anonymous volumes no container uses, or with `all` every unused one."""
        return unary(self._connection.grpc(), _SERVICE + "Prune", pb.PruneVolumesRequest(all=all, filters=filters),
                     pb.PruneVolumesResponse)
