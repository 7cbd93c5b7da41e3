"""The Kubernetes path: kubelet -> containerd's CRI plugin -> a RuntimeClass handler -> shim -> runtime.

This test is kubelet: it speaks the CRI (runtime.v1, from Kubernetes' api.proto) to Debian's
containerd 1.6 with a CNI bridge network (tests/harness/cri.py). Every test runs with the
handler `pyrunc` (our shim driving pyrunc) and with `runc` (containerd's runc shim driving
runc), so what it checks is the contract, not our implementation of it.

One node serves the module; each test makes its own pod and removes it.
"""

import ipaddress
import time
from pathlib import Path

import grpc
import pytest

from tests.harness.cri import HANDLERS, CriContainerd, available, cri, stream_exec

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(bool(available()), reason=available() or "CRI node available"),
]



def handlers(**xfails):
    return [pytest.param(h, marks=xfails.get(h, ())) for h in sorted(HANDLERS)]


@pytest.fixture(scope="module")
def node():
    n = CriContainerd()
    with n.serving():
        yield n


class Pod:
    """A pod made through the CRI, removed at the end of the test."""

    def __init__(self, node: CriContainerd, name: str, handler: str, **config) -> None:
        self.node, self.rt = node, node.runtime
        self.id, self.config = node.run_pod(name, handler, **config)

    def start(self, name: str, *args: str) -> str:
        return self.node.start_container(self.id, self.config, name, list(args))

    def exec(self, cid: str, *cmd: str, timeout: int = 10, deadline: float = 15) -> cri.ExecSyncResponse:
        """ExecSync with kubelet's timeout (seconds, for the command) and a gRPC deadline."""
        return self.rt.ExecSync(cri.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=timeout),
                                timeout=deadline)

    def status(self) -> cri.PodSandboxStatus:
        return self.rt.PodSandboxStatus(cri.PodSandboxStatusRequest(pod_sandbox_id=self.id), timeout=10).status


@pytest.fixture
def make_pod(node, request):
    pods = []

    def make(handler: str, **config) -> Pod:
        name = f"{request.node.originalname.removeprefix('test_').replace('_', '-')[:40]}-{handler}"
        pods.append(Pod(node, name, handler, **config))
        return pods[-1]

    yield make
    for pod in pods:
        try:
            node.remove_pod(pod.id)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise


def container_state(node: CriContainerd, cid: str) -> int:
    return node.runtime.ContainerStatus(cri.ContainerStatusRequest(container_id=cid), timeout=10).status.state


@pytest.mark.parametrize("handler", handlers())
def test_run_pod_sandbox_and_container(node, make_pod, handler):
    pod = make_pod(handler)
    status = pod.status()
    assert status.state == cri.SANDBOX_READY
    assert status.runtime_handler == handler
    assert ipaddress.ip_address(status.network.ip) in ipaddress.ip_network(node.subnet)

    cid = pod.start("main", "sleep", "3600")
    assert container_state(node, cid) == cri.CONTAINER_RUNNING
    out = pod.exec(cid, "sh", "-c", "ip -4 -o addr show eth0; hostname; tr '\\0' ' ' < /proc/1/cmdline")
    assert out.exit_code == 0, out.stderr
    addr, hostname, pid1 = out.stdout.decode().splitlines()
    assert f"inet {status.network.ip}/24" in addr  # the container is in the pod's CNI network namespace
    assert hostname == pod.config.hostname
    assert pid1 == "sleep 3600 "  # a pod without a shared PID namespace: the container's own


@pytest.mark.parametrize("handler", handlers())
def test_exec_sync(node, make_pod, handler):
    pod = make_pod(handler)
    cid = pod.start("main", "sleep", "3600")
    out = pod.exec(cid, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (out.stdout, out.stderr, out.exit_code) == (b"out\n", b"err\n", 3)


@pytest.mark.parametrize("handler", handlers())
def test_exec_sync_of_a_missing_binary_fails_at_once(node, make_pod, handler, capsys):
    pod = make_pod(handler)
    cid = pod.start("main", "sleep", "3600")
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as err:
        pod.exec(cid, "/no/such/binary", timeout=1, deadline=3)  # 3 s, not containerd's 60 s, if it hangs
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nExecSync of a missing binary, handler {handler}: {elapsed:.3f} s ({err.value.code().name})")
    assert err.value.code() != grpc.StatusCode.DEADLINE_EXCEEDED
    assert "/no/such/binary" in err.value.details()
    assert elapsed < 1.0
    assert pod.exec(cid, "true").exit_code == 0  # the container is unharmed


@pytest.mark.parametrize("handler", handlers())
def test_streaming_exec(node, make_pod, handler):
    pod = make_pod(handler)
    cid = pod.start("main", "sleep", "3600")
    url = node.runtime.Exec(cri.ExecRequest(
        container_id=cid, cmd=["sh", "-c", 'read line; echo "got $line"; echo oops >&2; exit 4'],
        stdin=True, stdout=True, stderr=True), timeout=10).url
    assert url.startswith(f"http://127.0.0.1:{node.stream_port}/exec/")
    stdout, stderr, status = stream_exec(url, b"hello\n")
    assert (stdout, stderr) == (b"got hello\n", b"oops\n")
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]


@pytest.mark.parametrize("handler", handlers())
def test_container_stats(node, make_pod, handler):
    pod = make_pod(handler)
    cid = pod.start("main", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 3600")
    deadline = time.monotonic() + 10
    while True:
        stats = node.runtime.ContainerStats(cri.ContainerStatsRequest(container_id=cid), timeout=10).stats
        if stats.cpu.usage_core_nano_seconds.value > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert stats.attributes.id == cid
    assert stats.attributes.metadata.name == "main"
    assert stats.cpu.timestamp > 0 and stats.cpu.usage_core_nano_seconds.value > 0
    assert stats.memory.working_set_bytes.value > 0
    assert stats.memory.usage_bytes.value > 0


@pytest.mark.parametrize("handler", handlers())
def test_update_container_resources(node, make_pod, handler):
    pod = make_pod(handler)
    cid = pod.start("main", "sleep", "3600")
    limit = 64 << 20
    assert node.memory_limit(cid) != limit
    node.runtime.UpdateContainerResources(cri.UpdateContainerResourcesRequest(
        container_id=cid, linux=cri.LinuxContainerResources(memory_limit_in_bytes=limit)), timeout=30)
    assert node.memory_limit(cid) == limit
    assert container_state(node, cid) == cri.CONTAINER_RUNNING


@pytest.mark.parametrize("handler", handlers())
def test_pod_with_net_sysctls(node, make_pod, handler):
    sysctl = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    host_value = sysctl.read_text()
    pod = make_pod(handler, sysctls={"net.ipv4.ip_unprivileged_port_start": "80"})  # a kubelet "safe" sysctl
    cid = pod.start("main", "sleep", "3600")
    assert pod.exec(cid, "cat", str(sysctl)).stdout == b"80\n"
    assert sysctl.read_text() == host_value  # set in the pod's network namespace only


@pytest.mark.parametrize("handler", handlers())
def test_pod_with_a_shared_pid_namespace(node, make_pod, handler):
    pod = make_pod(handler, pid=cri.POD)
    pod.start("first", "sleep", "1234")
    second = pod.start("second", "sleep", "3600")
    ps = pod.exec(second, "ps", "-o", "pid,args").stdout.decode().splitlines()[1:]
    procs = {int(pid): args for pid, args in (line.split(None, 1) for line in ps)}
    assert procs[1] == "/bin/sleep inf"  # the sandbox's pause is PID 1 of the pod
    assert "sleep 1234" in procs.values() and "sleep 3600" in procs.values()


@pytest.mark.parametrize("handler", handlers())
def test_stop_and_remove_pod_sandbox(node, make_pod, handler):
    pod = make_pod(handler)
    cid = pod.start("main", "sleep", "3600")
    netns_dir = node.state / "io.containerd.grpc.v1.cri" / "netns"
    assert len(node.bridge_ports()) == 1 and len(list(netns_dir.iterdir())) == 1

    node.runtime.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
    assert pod.status().state == cri.SANDBOX_NOTREADY
    assert container_state(node, cid) == cri.CONTAINER_EXITED
    assert node.bridge_ports() == [] and list(netns_dir.iterdir()) == []  # CNI DEL ran, netns released
    node.runtime.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)  # idempotent

    node.runtime.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
    with pytest.raises(grpc.RpcError) as err:
        pod.status()
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    listed = node.runtime.ListContainers(cri.ListContainersRequest(
        filter=cri.ContainerFilter(pod_sandbox_id=pod.id)), timeout=10).containers
    assert not listed
    node.runtime.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)  # idempotent
