"""The images service, over grpcio (its messages have no wire tables). Imported when first used."""

from collections.abc import Iterable, Iterator, Mapping

from pyrunc_proto.pyrunc.images.v1 import images_pb2 as pb

from .connection import Connection
from .grpcio import client_stream, server_stream, unary
from .types import RegistryAuth

_SERVICE = "/pyrunc.images.v1.Images/"


def _auths(auths: Mapping[str, RegistryAuth]) -> dict[str, pb.RegistryAuth]:
    return {host: pb.RegistryAuth(**auth) for host, auth in auths.items()}


class ImagesApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def ls(self, references: list[str], *, all: bool = False) -> list[pb.Image]:
        """Every image, or those of the given repository[:tag]s; `all`: the intermediate ones too."""
        reply = unary(self._connection.grpc(), _SERVICE + "List",
                      pb.ListImagesRequest(references=references, all=all), pb.ListImagesResponse)
        return list(reply.images)

    def get(self, reference: str) -> pb.Image:
        return unary(self._connection.grpc(), _SERVICE + "Get", pb.GetImageRequest(reference=reference), pb.Image)

    def history(self, reference: str) -> list[pb.HistoryEntry]:
        reply = unary(self._connection.grpc(), _SERVICE + "History", pb.GetImageRequest(reference=reference),
                      pb.HistoryResponse)
        return list(reply.entries)

    def tag(self, source: str, target: str) -> None:
        unary(self._connection.grpc(), _SERVICE + "Tag", pb.TagRequest(source=source, target=target), pb.TagResponse)

    def remove(self, reference: str, *, force: bool, no_prune: bool) -> pb.RemoveResponse:
        request = pb.RemoveRequest(reference=reference, force=force, no_prune=no_prune)
        return unary(self._connection.grpc(), _SERVICE + "Remove", request, pb.RemoveResponse)

    def prune(self, *, all: bool) -> pb.PruneResponse:
        """Remove the dangling images, or with `all` every image no container uses."""
        return unary(self._connection.grpc(), _SERVICE + "Prune", pb.PruneRequest(all=all), pb.PruneResponse)

    def pull(self, reference: str, *, platform: str, auths: Mapping[str, RegistryAuth]) -> Iterator[pb.Progress]:
        """Its progress, layer by layer; `auths`: registry host -> credentials."""
        request = pb.PullRequest(reference=reference, platform=platform, auths=_auths(auths))
        return server_stream(self._connection.grpc(), _SERVICE + "Pull", request, pb.Progress)

    def push(self, reference: str, *, all_tags: bool = False,
             auths: Mapping[str, RegistryAuth]) -> Iterator[pb.Progress]:
        """Its progress; with `all_tags`, `reference` is a repository and each of its local tags is pushed."""
        request = pb.PushRequest(reference=reference, auths=_auths(auths), all_tags=all_tags)
        return server_stream(self._connection.grpc(), _SERVICE + "Push", request, pb.Progress)

    def load(self, archive: Iterable[bytes]) -> list[str]:
        """Load the tar (docker-archive or OCI layout) that `archive` yields; what was loaded, a line each."""
        requests = (pb.LoadRequest(data=data) for data in archive)
        return list(client_stream(self._connection.grpc(), _SERVICE + "Load", requests, pb.LoadResponse).loaded)

    def save(self, references: list[str], *, oci: bool) -> Iterator[bytes]:
        """A tar of the images: docker-archive with an OCI layout, or (`oci`) the stored manifests verbatim."""
        fmt = pb.SaveRequest.OCI_ARCHIVE if oci else pb.SaveRequest.DOCKER_ARCHIVE
        replies = server_stream(self._connection.grpc(), _SERVICE + "Save",
                                pb.SaveRequest(references=references, format=fmt), pb.SaveResponse)
        return (reply.data for reply in replies)

    def login(self, server: str, auth: RegistryAuth) -> str:
        """The registry's status line, once it accepted the credentials."""
        request = pb.LoginRequest(server=server, auth=pb.RegistryAuth(**auth))
        return unary(self._connection.grpc(), _SERVICE + "Login", request, pb.LoginResponse).status

    def import_(self, archive: Iterable[bytes], *, reference: str, message: str, changes: list[str]) -> str:
        """The id of the one-layer image made of the tar `archive` yields."""
        def requests() -> Iterator[pb.ImportRequest]:
            yield pb.ImportRequest(reference=reference, message=message, changes=changes)
            for data in archive:
                yield pb.ImportRequest(data=data)

        return client_stream(self._connection.grpc(), _SERVICE + "Import", requests(), pb.ImportResponse).image_id
