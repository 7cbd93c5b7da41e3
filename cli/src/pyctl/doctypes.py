"""Which null fields of docker's inspect documents are Go maps or slices. docker runs -f over its typed
structs, where a nil map prints map[] and a nil slice [] (and `index` of a nil map[string]string gives
""); the JSON we template says only null. Paths with `*` go through every value of a map."""

from typing import Any

from .gofmt import NilMap, NilSlice

_STRING_MAPS = {
    "volume": ["Labels", "Options"],
    "network": ["Labels", "Options", "IPAM.Options"],
    "container": ["Config.Labels", "HostConfig.LogConfig.Config", "HostConfig.Sysctls", "HostConfig.StorageOpt",
                  "HostConfig.Tmpfs", "NetworkSettings.Networks.*.DriverOpts"],
    "image": ["Config.Labels", "ContainerConfig.Labels"],
}
_MAPS = {
    "volume": ["Status"],
    "network": ["Containers", "ConfigFrom"],
    "container": ["Config.Volumes", "Config.ExposedPorts", "HostConfig.PortBindings", "NetworkSettings.Ports",
                  "NetworkSettings.Networks"],
    "image": ["Config.Volumes", "Config.ExposedPorts", "ContainerConfig.Volumes", "ContainerConfig.ExposedPorts"],
}
_SLICES = {
    "network": ["IPAM.Config"],
    "container": ["Args", "Mounts", "Config.Env", "Config.Cmd", "Config.Entrypoint", "Config.OnBuild",
                  "HostConfig.Binds", "HostConfig.Dns", "HostConfig.DnsOptions", "HostConfig.DnsSearch",
                  "HostConfig.ExtraHosts", "HostConfig.Links", "HostConfig.CapAdd", "HostConfig.CapDrop",
                  "HostConfig.VolumesFrom", "HostConfig.SecurityOpt", "HostConfig.Devices", "HostConfig.Ulimits",
                  "HostConfig.Mounts", "HostConfig.GroupAdd", "NetworkSettings.Networks.*.Aliases",
                  "NetworkSettings.Networks.*.Links"],
    "image": ["RepoTags", "RepoDigests", "Config.Env", "Config.Cmd", "Config.Entrypoint", "Config.OnBuild",
              "ContainerConfig.Env", "ContainerConfig.Cmd", "ContainerConfig.Entrypoint", "RootFS.Layers"],
}


def typed(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """`doc` with its null maps and slices (for `kind`: container, image, network, volume) made NilMap
    and NilSlice, in place."""
    for paths, make in ((_STRING_MAPS, lambda: NilMap("")), (_MAPS, NilMap), (_SLICES, NilSlice)):
        for path in paths.get(kind, []):
            _fill(doc, path.split("."), make)
    return doc


def _fill(node: Any, parts: list[str], make: Any) -> None:
    if not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    keys = list(node) if head == "*" else [head] if head in node else []
    for k in keys:
        if rest:
            _fill(node[k], rest, make)
        elif node[k] is None:
            node[k] = make()
