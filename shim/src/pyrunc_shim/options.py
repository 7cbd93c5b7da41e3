"""The runtime options containerd hands a shim, reduced to what this shim honours."""

from pyrunc_proto import wire
from pyrunc_ttrpc.status import Code, TtrpcError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from typing import TypedDict

    from pyrunc_proto.messages import google_protobuf_Any

    class RuntimeOptions(TypedDict, total=False):
        binary_name: str
        root: str
        no_pivot_root: bool
        no_new_keyring: bool


def parse_options(data: "bytes | google_protobuf_Any | None",
                  config_cache: "dict[str, RuntimeOptions] | None" = None) -> "RuntimeOptions":
    """The runtime options containerd passes (a decoded Any, or its bytes) -> the fields we honour.

    containerd.runc.v1.Options is what `ctr run --runc-binary X` sends, but ctr 1.6 only allows
    that flag for io.containerd.runc.v2; for other runtimes it sends runtimeoptions.v1.Options
    (`--runtime-config-path FILE`), so we read FILE as TOML with the same keys as containerd's
    CRI runc options: BinaryName, Root, NoPivotRoot, NoNewKeyring. config_cache holds files
    already read (by `start`, so the long-lived server need not import tomllib).
    """
    if not data:
        return {}
    opts = data if isinstance(data, wire.Message) else wire.decode("google.protobuf.Any", data)
    if opts.type_url.endswith("containerd.runc.v1.Options"):
        o = wire.decode("containerd.runc.v1.Options", opts.value)
        return {"binary_name": o.binary_name, "root": o.root, "no_pivot_root": o.no_pivot_root,
                "no_new_keyring": o.no_new_keyring}
    if opts.type_url.endswith("runtimeoptions.v1.Options"):
        path = wire.decode("runtimeoptions.v1.Options", opts.value).config_path
        if not path:
            return {}
        if config_cache is not None and path in config_cache:
            return config_cache[path]
        return read_config_file(path)
    return {}


def read_config_file(path: str) -> "RuntimeOptions":
    import tomllib

    try:
        with open(path, "rb") as f:
            conf = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise TtrpcError(Code.INVALID_ARGUMENT, f"runtime config path {path!r}: {e}") from e
    return {"binary_name": str(conf.get("BinaryName", "")), "root": str(conf.get("Root", "")),
            "no_pivot_root": bool(conf.get("NoPivotRoot", False)),
            "no_new_keyring": bool(conf.get("NoNewKeyring", False))}


def config_path_of(data: bytes) -> str:
    """The config file named by runtimeoptions.v1.Options bytes, or ""."""
    if not data:
        return ""
    opts = wire.decode("google.protobuf.Any", data)
    if opts.type_url.endswith("runtimeoptions.v1.Options"):
        return wire.decode("runtimeoptions.v1.Options", opts.value).config_path
    return ""
