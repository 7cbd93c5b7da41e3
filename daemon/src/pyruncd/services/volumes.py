"""pyrunc.volumes.v1.Volumes over volumes.store."""

from pyrunc_proto.pyrunc.volumes.v1 import volumes_pb2 as pb
from pyrunc_proto.pyrunc.volumes.v1 import volumes_pb2_grpc as pb_grpc

from ..threads import in_thread
from ..volumes.store import DRIVER, Volume, VolumeStore, parse_filters, remove_dirs
from .errors import rpc


def volume_pb(v: Volume) -> pb.Volume:
    return pb.Volume(name=v.name, driver=DRIVER, mountpoint=str(v.mountpoint), created_at=v.created_at,
                     labels=v.labels, scope="local", anonymous=v.anonymous, used_by=v.users)


class VolumesService(pb_grpc.VolumesServicer):
    def __init__(self, store: VolumeStore):
        self.store = store

    @rpc
    async def Create(self, request, context):
        return volume_pb(self.store.create(request.name, dict(request.labels), request.driver))

    @rpc
    async def Inspect(self, request, context):
        return volume_pb(self.store.get(request.name))

    @rpc
    async def List(self, request, context):
        return pb.ListVolumesResponse(volumes=[volume_pb(v) for v in
                                               self.store.find(parse_filters(list(request.filters)))])

    @rpc
    async def Remove(self, request, context):
        d = self.store.remove(request.name, force=request.force)
        if d is not None:
            await in_thread(remove_dirs, [d])
        return pb.Empty()

    @rpc
    async def Prune(self, request, context):
        names, dirs = self.store.prune(request.all, parse_filters(list(request.filters)))
        freed = await in_thread(remove_dirs, dirs)
        return pb.PruneVolumesResponse(deleted=names, space_reclaimed=freed)
