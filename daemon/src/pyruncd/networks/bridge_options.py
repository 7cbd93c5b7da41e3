"""`network create -o KEY=VALUE`: the bridge driver's options checked as docker 20.10's bridge driver
checks them. All are kept and shown by inspect as given; the bridge's name, its MTU (bridge and veths)
and masquerade off are applied; the rest (enable_icc, host_binding_ipv4, ...) are accepted and kept only."""

from ..errors import Conflict, InvalidArgument
from .store import BRIDGE_NAME, MASQUERADE, MTU, Network

_BOOLS = (MASQUERADE, "com.docker.network.bridge.enable_icc", "com.docker.network.bridge.default_bridge")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
IFNAMSIZ = 16


def _parse_error(key: str, value: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"failed to parse {key} value: {value} ({why})")


def check(opts: dict[str, str], others: list[Network], name: str) -> None:
    """Raise as dockerd for a value its bridge driver cannot parse, or a bridge name already in use."""
    if MTU in opts:
        try:
            mtu = int(opts[MTU], 10)
        except ValueError:
            raise _parse_error(MTU, opts[MTU], f'strconv.Atoi: parsing "{opts[MTU]}": invalid syntax') from None
        if mtu < 0:
            raise InvalidArgument(f"invalid MTU number: {mtu}")
    for key in _BOOLS:
        if key in opts and opts[key] not in _TRUE + _FALSE:
            raise _parse_error(key, opts[key], f'strconv.ParseBool: parsing "{opts[key]}": invalid syntax')
    bridge = opts.get(BRIDGE_NAME, "")
    if len(bridge) >= IFNAMSIZ:
        raise InvalidArgument(f"bridge name {bridge!r} is longer than {IFNAMSIZ - 1} characters")
    clash = next((n for n in others if bridge and n.bridge == bridge), None)
    if clash is not None:
        raise Conflict(f"cannot create network {name}: conflicts with network {clash.id} ({clash.name}): "
                       "networks have same bridge name")
