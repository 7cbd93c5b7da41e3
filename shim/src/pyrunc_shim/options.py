"""The runtime options containerd hands a shim, reduced to what this shim honours.

`start` reads the runtime config file (the server never loads tomllib, nor does `start` load
pyrunc_ttrpc.status and its enum): it is on containerd's path to the first RPC of every task.
"""

from pyrunc_proto import wire

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


class ConfigFileError(Exception):
    """The runtime config file cannot be read or is not TOML."""


def read_config_file(path: str) -> "RuntimeOptions":
    """The file's options; a TtrpcError (INVALID_ARGUMENT) when it cannot be read or parsed."""
    try:
        return load_config_file(path)
    except ConfigFileError as e:
        from pyrunc_ttrpc.status import Code, TtrpcError

        raise TtrpcError(Code.INVALID_ARGUMENT, str(e)) from e


def load_config_file(path: str) -> "RuntimeOptions":
    """The file's options; ConfigFileError when it cannot be read or parsed."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigFileError(f"runtime config path {path!r}: {e}") from e
    conf = parse_flat_toml(data)
    if conf is None:
        import tomllib

        try:
            conf = tomllib.loads(data.decode())
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigFileError(f"runtime config path {path!r}: {e}") from e
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


_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def parse_flat_toml(data: bytes) -> "dict[str, str | bool] | None":
    """What tomllib would give for the files these options come in: ASCII lines of `Key = "text"`,
    `Key = true|false`, comments and blank lines. None for anything else (tables, escapes, numbers,
    quoted or dotted or repeated keys, control characters, CR): tomllib decides those. tomllib
    costs `start` ~15 ms to import (typing, re, datetime) for a file of one or two lines."""
    if not data.isascii():
        return None
    text = data.decode()
    if any(c < " " and c not in "\t\n" or c == "\x7f" for c in text):
        return None
    out: dict[str, str | bool] = {}
    for line in text.split("\n"):
        line = line.strip(" \t")
        if not line or line.startswith("#"):
            continue
        key, eq, rest = line.partition("=")
        key, rest = key.rstrip(" \t"), rest.lstrip(" \t")
        if not eq or not key or not _BARE_KEY.issuperset(key) or key in out:
            return None
        value: str | bool
        if rest.startswith('"'):
            end = rest.find('"', 1)
            if end < 0 or "\\" in rest[:end]:
                return None
            value, rest = rest[1:end], rest[end + 1:]
        elif rest.startswith(("true", "false")):
            value = rest.startswith("true")
            rest = rest[4 if value else 5:]
        else:
            return None
        rest = rest.lstrip(" \t")
        if rest and not rest.startswith("#"):
            return None
        out[key] = value
    return out
