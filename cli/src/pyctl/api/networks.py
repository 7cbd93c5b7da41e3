"""The networks service, over grpcio (its messages have no wire tables). Imported when first used."""

from pyrunc_proto.pyrunc.networks.v1 import networks_pb2 as pb

from .connection import Connection
from .grpcio import unary

_SERVICE = "/pyrunc.networks.v1.Networks/"


class NetworksApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def create(self, name: str, *, driver: str, subnet: str, gateway: str, labels: dict[str, str],
               internal: bool, options: dict[str, str] | None = None) -> str:
        """The new network's id; "" for the daemon's choice of driver, subnet and gateway."""
        request = pb.CreateRequest(name=name, driver=driver, subnet=subnet, gateway=gateway, labels=labels,
                                   internal=internal, options=options or {})
        return unary(self._connection.grpc(), _SERVICE + "Create", request, pb.CreateResponse).id

    def ls(self) -> list[pb.Network]:
        return list(unary(self._connection.grpc(), _SERVICE + "List", pb.ListRequest(), pb.ListResponse).networks)

    def inspect(self, name: str) -> pb.Network:
        """Its record; `inspect_json` holds `docker network inspect`'s document."""
        return unary(self._connection.grpc(), _SERVICE + "Inspect", pb.NetworkRef(id=name), pb.Network)

    def remove(self, name: str) -> None:
        unary(self._connection.grpc(), _SERVICE + "Remove", pb.NetworkRef(id=name), pb.Empty)

    def connect(self, network: str, container: str, *, aliases: list[str], ip: str) -> None:
        request = pb.ConnectRequest(network=network, container=container, aliases=aliases, ip=ip)
        unary(self._connection.grpc(), _SERVICE + "Connect", request, pb.Empty)

    def disconnect(self, network: str, container: str, *, force: bool) -> None:
        request = pb.DisconnectRequest(network=network, container=container, force=force)
        unary(self._connection.grpc(), _SERVICE + "Disconnect", request, pb.Empty)

    def prune(self) -> list[str]:
        """Remove the networks no container uses; their names."""
        return list(unary(self._connection.grpc(), _SERVICE + "Prune", pb.PruneRequest(), pb.PruneResponse).deleted)

    def ports(self, container: str) -> list[pb.PortBinding]:
        """A container's published ports."""
        reply = unary(self._connection.grpc(), _SERVICE + "Port", pb.PortRequest(container=container), pb.PortResponse)
        return list(reply.ports)
