"""pyrunc.volumes.v1.Volumes over the volumes package: proto <-> records, errors -> statuses."""

from pyrunc_proto.pyrunc.volumes.v1 import volumes_pb2 as pb
from pyrunc_proto.pyrunc.volumes.v1 import volumes_pb2_grpc as pb_grpc

from ..volumes.prune import prune
from ..volumes.remove import remove
from ..volumes.store import DRIVER, Volume, VolumeStore, parse_filters
from .errors import Context, rpc


def volume_pb(v: Volume) -> pb.Volume:
    return pb.Volume(name=v.name, driver=DRIVER, mountpoint=str(v.mountpoint), created_at=v.created_at,
                     labels=v.labels, scope="local", anonymous=v.anonymous, used_by=v.users)


class VolumesService(pb_grpc.VolumesServicer):
    def __init__(self, store: VolumeStore):
        self.store = store

    @rpc
    async def Create(self, request: pb.CreateVolumeRequest, context: Context) -> pb.Volume:
        return volume_pb(self.store.create(request.name, dict(request.labels), request.driver))

    @rpc
    async def Inspect(self, request: pb.VolumeRef, context: Context) -> pb.Volume:
        return volume_pb(self.store.get(request.name))

    @rpc
    async def List(self, request: pb.ListVolumesRequest, context: Context) -> pb.ListVolumesResponse:
        return pb.ListVolumesResponse(volumes=[volume_pb(v) for v in self.store.find(parse_filters(request.filters))])

    @rpc
    async def Remove(self, request: pb.RemoveVolumeRequest, context: Context) -> pb.Empty:
        await remove(self.store, request.name, force=request.force)
        return pb.Empty()

    @rpc
    async def Prune(self, request: pb.PruneVolumesRequest, context: Context) -> pb.PruneVolumesResponse:
        pruned = await prune(self.store, all=request.all, filters=parse_filters(request.filters))
        return pb.PruneVolumesResponse(deleted=pruned.deleted, space_reclaimed=pruned.space_reclaimed)
