"""pyctl's one way to the daemon: typed calls that raise ApiError, whichever transport carries them.

The containers service goes over the HTTP/2 client (api/h2grpc.py, api/lite.py): no grpcio or
google.protobuf to import, which would be most of a short `pyctl run`; so does the build service, its context
streaming (api/build.py). The other calls that stream requests (attach, copy_to, load) and the services
without wire tables (images, networks, volumes, system) go over grpcio, imported on their first call.
Commands never see either.
"""

from __future__ import annotations

from .connection import Connection
from .containers import ContainersApi
from .errors import ApiError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .build import BuildApi
    from .images import ImagesApi
    from .networks import NetworksApi
    from .system import SystemApi
    from .volumes import VolumesApi

__all__ = ["Api", "ApiError"]


class Api:
    """The daemon at `socket_path` (opened on the first call); close() when done."""

    def __init__(self, socket_path: str) -> None:
        self._connection = Connection(socket_path)
        self.containers = ContainersApi(self._connection)

    @property
    def build(self) -> BuildApi:
        from .build import BuildApi

        return BuildApi(self._connection)

    @property
    def images(self) -> ImagesApi:
        from .images import ImagesApi

        return ImagesApi(self._connection)

    @property
    def networks(self) -> NetworksApi:
        from .networks import NetworksApi

        return NetworksApi(self._connection)

    @property
    def volumes(self) -> VolumesApi:
        from .volumes import VolumesApi

        return VolumesApi(self._connection)

    @property
    def system(self) -> SystemApi:
        from .system import SystemApi

        return SystemApi(self._connection)

    def another(self) -> Api:
        """An Api on connections of its own, for calls from another thread; the caller closes it."""
        return Api(self._connection.socket_path)

    def close(self) -> None:
        self._connection.close()
