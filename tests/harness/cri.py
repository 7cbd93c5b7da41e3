"""containerd with its CRI plugin, as a Kubernetes node runs it, for tests that act as kubelet.

Usage:
    with CriContainerd().serving() as node:    # pause + busybox imported, CNI network ready
        pod_id, config = node.run_pod("web", "pyrunc")
        cid = node.start_container(pod_id, config, "c1", ["sleep", "3600"])
        node.runtime.ExecSync(cri.ExecSyncRequest(container_id=cid, cmd=["true"]), timeout=10)

Everything lives under one temp dir: containerd's root, state (the pods' netns mounts too) and
sockets, each handler's runtime state (runc: io.containerd.runc.v2; pyrunc: our shim, found on
PATH in .venv/bin, io.containerd.pyrunc.v2), the CNI config, host-local's leases and the pods'
logs. The pod network is a CNI bridge on a 10.N.0.0/24 this node claims (tests/harness/netclaim.py),
with neither a gateway nor masquerading, so no host sysctl, route or iptables rule is touched.
Pods get a cgroup parent naming `token`, so leaks() finds their processes and cgroups.

The sandbox (pause) image is busybox whose entrypoint sleeps forever, built offline with
spec-fixtures and imported beside busybox itself.

stop() (or leaving serving()) stops and removes every pod through the CRI, so CNI's DEL runs, then
stops containerd and removes whatever a failure left: shims, runtime state, mounts, cgroups, links.
"""

import contextlib
import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import grpc
from pyrunc_proto.k8s.cri.runtime.v1 import api_pb2 as cri
from pyrunc_proto.k8s.cri.runtime.v1 import api_pb2_grpc

from tests.harness import leaks
from tests.harness.cleanup import kill_trees, remove_cgroups
from tests.harness.containerd import VENV_BIN, Containerd
from tests.harness.netclaim import NetClaim, link_exists

PAUSE_REF = "pyrunc.test/pause:busybox"
BUSYBOX_REF = "docker.io/library/busybox:latest"
CNI_BIN = Path("/usr/lib/cni")
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")
RUNC = "/usr/sbin/runc"
# handler -> (runtime_type, the runtime binary the shim drives)
HANDLERS = {"runc": ("io.containerd.runc.v2", RUNC),
            "pyrunc": ("io.containerd.pyrunc.v2", str(VENV_BIN / "pyrunc"))}
CGROUP_ROOT = Path("/sys/fs/cgroup")


def available() -> str:
    """Why a CRI node cannot run here, or "" if it can."""
    from tests.harness.containerd import available as containerd_available

    why = containerd_available()
    if why:
        return why
    missing = [p for p in CNI_PLUGINS if not os.access(CNI_BIN / p, os.X_OK)]
    if missing:
        return f"CNI plugins {', '.join(missing)} are not in {CNI_BIN} (containernetworking-plugins)"
    for _, binary in HANDLERS.values():
        if not os.access(binary, os.X_OK):
            return f"{binary} is not installed"
    return ""


def free_port() -> int:
    """A TCP port free now on 127.0.0.1: containerd 1.6 puts its configured port, not the one it
    got, in exec URLs, so "0" would not do."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_images(path: Path) -> None:
    """A docker-archive with busybox and the pause image: the same layer, entrypoint sleep forever."""
    from spec_fixtures.busybox import busybox_layer
    from spec_fixtures.docker import write_docker_archive
    from spec_fixtures.image import DEFAULT_ENV, make_image

    layer = busybox_layer()
    busybox = make_image([layer])
    pause = make_image([layer], config={"Env": list(DEFAULT_ENV), "Entrypoint": ["/bin/sleep", "inf"]})
    write_docker_archive(str(path), {"busybox:latest": busybox, PAUSE_REF: pause})


class CriContainerd(Containerd):
    def __init__(self) -> None:
        super().__init__(namespace="k8s.io")  # the CRI plugin's namespace
        self.token = f"pyrunc-cri-{uuid.uuid4().hex[:8]}"
        self.cgroup_parent = f"/{self.token}"
        self.net = NetClaim()
        self.subnet = f"10.{self.net.n}.0.0/24"
        self.stream_port = free_port()
        self.cni_conf_dir = self.dir / "cni"
        self.runtime_roots = {"runc": self.dir / "runc-root", "pyrunc": self.dir / "pyrunc-root"}
        self.channel: grpc.Channel | None = None
        self.runtime: api_pb2_grpc.RuntimeServiceStub | None = None
        self.images: api_pb2_grpc.ImageServiceStub | None = None
        self._write_configs()

    def _write_configs(self) -> None:
        shim_options = self.dir / "pyrunc-shim.toml"  # our shim reads CRI's runc option names
        shim_options.write_text(f'BinaryName = "{HANDLERS["pyrunc"][1]}"\n'
                                f'Root = "{self.runtime_roots["pyrunc"]}"\n')
        plugin = 'plugins."io.containerd.grpc.v1.cri"'
        runtimes = f"{plugin}.containerd.runtimes"
        self.config.write_text(
            "version = 2\n"
            f'root = "{self.root}"\n'
            f'state = "{self.state}"\n'
            "oom_score = 0\n"
            'disabled_plugins = ["io.containerd.internal.v1.opt",\n'
            '  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",\n'
            '  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",\n'
            '  "io.containerd.tracing.processor.v1.otlp"]\n'
            f'[grpc]\n  address = "{self.address}"\n'
            f'[ttrpc]\n  address = "{self.address}.ttrpc"\n'
            '[debug]\n  level = "debug"\n'
            f"[{plugin}]\n"
            f'  sandbox_image = "{PAUSE_REF}"\n'
            '  stream_server_address = "127.0.0.1"\n'
            f'  stream_server_port = "{self.stream_port}"\n'
            "  netns_mounts_under_state_dir = true\n"  # pods' netns under our state dir, not /run/netns
            # kubelet's -998 for the sandbox needs CAP_SYS_RESOURCE, which a test host may lack:
            # clamp to containerd's own score, as rootless nodes do
            "  restrict_oom_score_adj = true\n"
            f"[{plugin}.containerd]\n"
            '  default_runtime_name = "runc"\n'
            '  snapshotter = "overlayfs"\n'
            f"[{runtimes}.runc]\n"
            f'  runtime_type = "{HANDLERS["runc"][0]}"\n'
            f"[{runtimes}.runc.options]\n"
            f'  BinaryName = "{RUNC}"\n'
            f'  Root = "{self.runtime_roots["runc"]}"\n'
            f"[{runtimes}.pyrunc]\n"
            f'  runtime_type = "{HANDLERS["pyrunc"][0]}"\n'
            f"[{runtimes}.pyrunc.options]\n"
            f'  ConfigPath = "{shim_options}"\n'
            f"[{plugin}.cni]\n"
            f'  bin_dir = "{CNI_BIN}"\n'
            f'  conf_dir = "{self.cni_conf_dir}"\n'
            "  max_conf_num = 1\n"
        )
        self.cni_conf_dir.mkdir()
        (self.cni_conf_dir / "10-pyrunc-test.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0",
            "name": self.token,
            "plugins": [
                {"type": "bridge", "bridge": self.net.bridge, "isGateway": False, "ipMasq": False,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": self.subnet}]],
                          "dataDir": str(self.dir / "cni-ipam")}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }, indent=2))

    # ----- lifecycle

    def start(self, timeout: float = 20.0) -> "CriContainerd":
        super().start(timeout)
        self.channel = grpc.insecure_channel(f"unix://{self.address}")
        self.runtime = api_pb2_grpc.RuntimeServiceStub(self.channel)
        self.images = api_pb2_grpc.ImageServiceStub(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            status = self.runtime.Status(cri.StatusRequest(), timeout=5).status
            ready = {c.type for c in status.conditions if c.status}
            if {"RuntimeReady", "NetworkReady"} <= ready:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"CRI not ready in {timeout}s: {status}\n{self.log_tail()}")
            time.sleep(0.1)

    def serving(self):
        """Started, with busybox and the pause image imported; stopped afterwards, failing if it
        leaked anything."""
        @contextlib.contextmanager
        def served():
            try:
                self.start()
                archive = self.dir / "images.tar"
                write_images(archive)
                self.import_image(archive)
                self._wait_image(PAUSE_REF)
                yield self
            finally:
                self.stop()
            left = self.leaks()
            assert not left, "\n".join(left)

        return served()

    def _wait_image(self, ref: str, timeout: float = 10.0) -> None:
        """The CRI plugin learns of imported images from containerd's events, a moment later."""
        deadline = time.monotonic() + timeout
        while not self.images.ImageStatus(cri.ImageStatusRequest(image=cri.ImageSpec(image=ref)),
                                          timeout=5).image.id:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the CRI plugin does not see {ref}: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            if self.runtime is not None and self.proc and self.proc.poll() is None:
                self.remove_pods()
        finally:
            try:
                if self.channel is not None:
                    self.channel.close()
                super().stop()
            finally:
                self._release_network()

    def remove_pods(self) -> None:
        """Stop and remove every pod as kubelet would (CNI DEL releases its veth and address)."""
        try:
            pods = self.runtime.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=10).items
        except grpc.RpcError:
            return
        for pod in pods:
            try:
                self.remove_pod(pod.id, timeout=30)
            except grpc.RpcError:
                pass

    def _kill_leftovers(self) -> None:
        """Shims of this containerd and their containers, then what the runtimes still hold."""
        kill_trees(self.shim_pids(), self.shim_pids)
        for handler, root in self.runtime_roots.items():
            state = root / self.namespace
            if state.is_dir():
                for cid in os.listdir(state):
                    subprocess.run([HANDLERS[handler][1], "--root", str(state), "delete", "--force", cid],
                                   capture_output=True, check=False, timeout=30)
        remove_cgroups(self.token)

    def _release_network(self) -> None:
        for veth in self.bridge_ports():
            subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)
        self.net.release(self.dir / "no-database")

    # ----- what tests look at

    def bridge_ports(self) -> list[str]:
        """The links attached to this node's bridge: one veth per running pod."""
        if not link_exists(self.net.bridge):
            return []
        out = subprocess.run(["ip", "-o", "link", "show", "master", self.net.bridge],
                             capture_output=True, text=True, check=False).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]

    def leaks(self) -> list[str]:
        """Everything left that names this node: mounts (netns too), cgroups, processes, links,
        iptables or nft rules naming its bridge or subnet."""
        out = leaks.leaks(self.token, self.dir)
        out += [f"link: {name}" for name in [self.net.bridge, *self.bridge_ports()] if link_exists(name)]
        prefix = self.subnet.rsplit(".", 1)[0] + "."
        for cmd in (["iptables-save"], ["nft", "list", "ruleset"]):
            try:
                text = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30).stdout
            except FileNotFoundError:
                continue
            out += [f"{cmd[0]}: {line}" for line in text.splitlines()
                    if prefix in line or self.net.bridge in line or self.token in line]
        return out

    def memory_limit(self, container_id: str) -> int:
        """The container's memory limit in its cgroup on the host (cgroup v1 or v2), -1 if none."""
        v1 = CGROUP_ROOT / "memory" / self.token / container_id / "memory.limit_in_bytes"
        path = v1 if v1.exists() else CGROUP_ROOT / self.token / container_id / "memory.max"
        text = path.read_text().strip()
        return -1 if text == "max" else int(text)

    # ----- kubelet's requests

    def pod_config(self, name: str, *, sysctls: dict | None = None,
                   pid: int = cri.CONTAINER) -> cri.PodSandboxConfig:
        log_dir = self.dir / "logs" / name
        log_dir.mkdir(parents=True, exist_ok=True)
        return cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name=name, uid=uuid.uuid4().hex, namespace="default"),
            hostname=name,
            log_directory=str(log_dir),
            linux=cri.LinuxPodSandboxConfig(
                cgroup_parent=self.cgroup_parent,
                sysctls=sysctls or {},
                security_context=cri.LinuxSandboxSecurityContext(
                    namespace_options=cri.NamespaceOption(network=cri.POD, pid=pid, ipc=cri.POD))))

    def run_pod(self, name: str, handler: str, **config) -> tuple[str, cri.PodSandboxConfig]:
        pod_config = self.pod_config(name, **config)
        reply = self.runtime.RunPodSandbox(cri.RunPodSandboxRequest(config=pod_config, runtime_handler=handler),
                                           timeout=60)
        return reply.pod_sandbox_id, pod_config

    def container_config(self, name: str, args: list[str], pod_config: cri.PodSandboxConfig) -> cri.ContainerConfig:
        pid = pod_config.linux.security_context.namespace_options.pid
        return cri.ContainerConfig(
            metadata=cri.ContainerMetadata(name=name),
            image=cri.ImageSpec(image=BUSYBOX_REF),
            args=args,
            log_path=f"{name}.log",
            linux=cri.LinuxContainerConfig(security_context=cri.LinuxContainerSecurityContext(
                namespace_options=cri.NamespaceOption(network=cri.POD, pid=pid, ipc=cri.POD))))

    def start_container(self, pod_id: str, pod_config: cri.PodSandboxConfig, name: str, args: list[str]) -> str:
        """CreateContainer + StartContainer; the container's id."""
        cid = self.runtime.CreateContainer(cri.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=self.container_config(name, args, pod_config),
            sandbox_config=pod_config), timeout=60).container_id
        self.runtime.StartContainer(cri.StartContainerRequest(container_id=cid), timeout=60)
        return cid

    def remove_pod(self, pod_id: str, timeout: float = 60) -> None:
        """StopPodSandbox then RemovePodSandbox, as kubelet ends a pod."""
        self.runtime.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=timeout)
        self.runtime.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=timeout)


def stream_exec(url: str, stdin: bytes = b"", timeout: float = 10.0) -> tuple[bytes, bytes, dict]:
    """Run an exec the CRI's Exec prepared, as `kubectl exec` reaches it through the API server:
    a websocket to the URL with Kubernetes' v4.channel.k8s.io protocol (each message's first byte
    is its stream: 0 stdin, 1 stdout, 2 stderr, 3 the final status as JSON). Returns stdout,
    stderr and that status."""
    import websocket

    ws = websocket.create_connection(url.replace("http://", "ws://", 1), timeout=timeout,
                                     subprotocols=["v4.channel.k8s.io"])
    streams, status = {1: b"", 2: b""}, {}
    try:
        if stdin:
            ws.send_binary(b"\x00" + stdin)
        while True:
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketConnectionClosedException:
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            if len(data) > 1 and data[0] == 3:
                status = json.loads(data[1:])
            elif len(data) > 1 and data[0] in streams:
                streams[data[0]] += data[1:]
    finally:
        ws.close()
    return streams[1], streams[2], status
