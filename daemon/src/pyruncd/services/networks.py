"""pyrunc.networks.v1.Networks over networks.manager: proto <-> records, errors -> statuses."""

import json

from pyrunc_proto.pyrunc.networks.v1 import networks_pb2 as pb
from pyrunc_proto.pyrunc.networks.v1 import networks_pb2_grpc as pb_grpc

from ..networks.manager import Networks
from ..networks.store import Network
from .errors import Context, rpc


class NetworksService(pb_grpc.NetworksServicer):
    def __init__(self, networks: Networks):
        self.n = networks

    def _pb(self, n: Network) -> pb.Network:
        return pb.Network(id=n.id, name=n.name, driver=n.driver, scope="local", created=n.created,
                          inspect_json=json.dumps(self.n.inspect_doc(n)).encode())

    @rpc
    async def Create(self, request: pb.CreateRequest, context: Context) -> pb.CreateResponse:
        n = self.n.create(request.name, driver=request.driver, subnet=request.subnet, gateway=request.gateway,
                          labels=dict(request.labels), internal=request.internal,
                          driver_options=dict(request.options))
        return pb.CreateResponse(id=n.id)

    @rpc
    async def List(self, request: pb.ListRequest, context: Context) -> pb.ListResponse:
        return pb.ListResponse(networks=[self._pb(n) for n in self.n.all()])

    @rpc
    async def Inspect(self, request: pb.NetworkRef, context: Context) -> pb.Network:
        return self._pb(self.n.get(request.id))

    @rpc
    async def Remove(self, request: pb.NetworkRef, context: Context) -> pb.Empty:
        self.n.remove(request.id)
        return pb.Empty()

    @rpc
    async def Connect(self, request: pb.ConnectRequest, context: Context) -> pb.Empty:
        await self.n.connect(request.network, request.container, list(request.aliases), request.ip)
        return pb.Empty()

    @rpc
    async def Disconnect(self, request: pb.DisconnectRequest, context: Context) -> pb.Empty:
        await self.n.disconnect(request.network, request.container, request.force)
        return pb.Empty()

    @rpc
    async def Prune(self, request: pb.PruneRequest, context: Context) -> pb.PruneResponse:
        return pb.PruneResponse(deleted=self.n.prune())

    @rpc
    async def Port(self, request: pb.PortRequest, context: Context) -> pb.PortResponse:
        return pb.PortResponse(ports=[pb.PortBinding(container_port=f"{b.container_port}/{b.proto}",
                                                     host_ip=b.host_ip or "0.0.0.0", host_port=b.host_port)
                                      for b in self.n.bindings(request.container)])
