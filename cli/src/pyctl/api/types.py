"""The shapes of the API's structured arguments, for the type checker only (importers take them
under TYPE_CHECKING: at run time they are plain dicts, and `typing` stays unloaded on `pyctl run`).
Where one is a request message's field dict as proto/generate.py writes it, it is that."""

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # messages.pyi is a stub only: nothing to import at run time
    from pyrunc_proto.messages import pyrunc_build_v1_BuildOptions_Fields as BuildOptions
    from pyrunc_proto.messages import pyrunc_containers_v1_ContainerConfig_Fields as ContainerConfig
    from pyrunc_proto.messages import pyrunc_containers_v1_ExecRequest_Fields as ExecConfig
    from pyrunc_proto.messages import pyrunc_containers_v1_UpdateRequest_Fields as ResourceUpdate

__all__ = ["AttachInput", "BuildOptions", "ContainerConfig", "ExecConfig", "RegistryAuth", "ResourceUpdate"]


class AttachInput(TypedDict, total=False):
    """The first names the process (id, and start or exec); the rest carry stdin and the terminal's size.
    The message's own field dict also admits a wire-decoded exec, which grpcio's constructor does not."""

    id: str
    start: bool
    exec: "ExecConfig"
    stdin: bytes
    width: int
    height: int
    close_stdin: bool


class RegistryAuth(TypedDict, total=False):
    username: str
    password: str
    identity_token: str
