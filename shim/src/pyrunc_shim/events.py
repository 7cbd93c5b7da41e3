"""Publishing task events to containerd: Events.Forward over ttrpc at TTRPC_ADDRESS, or, when
containerd gives no such address, `<publish-binary> --address A publish --topic T --namespace N`
with the event (an Any) on stdin, as older containerd expects.

Events go out in order from the shim's single loop, once the answer of the call that raised them
is sent (queued, then flush()ed after each event the loop handles): containerd's runc shim also answers while
its events are on their way, and the answer need not wait for Forward's round trip. Forward only
queues the event inside containerd, so it answers at once. An event that cannot be delivered
after a few quick tries (containerd restarting) is dropped, as containerd's own shims eventually
do; containerd learns the task's state again from State and Wait when it reconnects.
"""

import time

from pyrunc_proto import wire
from pyrunc_ttrpc.client import Client, connect

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from pyrunc_proto.messages import google_protobuf_Any_Fields

SERVICE = "containerd.services.events.ttrpc.v1.Events"
NAMESPACE_HEADER = "containerd-namespace-ttrpc"
TOPICS = {
    "containerd.events.TaskCreate": "/tasks/create",
    "containerd.events.TaskStart": "/tasks/start",
    "containerd.events.TaskExit": "/tasks/exit",
    "containerd.events.TaskDelete": "/tasks/delete",
    "containerd.events.TaskExecAdded": "/tasks/exec-added",
    "containerd.events.TaskExecStarted": "/tasks/exec-started",
    "containerd.events.TaskPaused": "/tasks/paused",
    "containerd.events.TaskResumed": "/tasks/resumed",
    "containerd.events.TaskOOM": "/tasks/oom",
}
ATTEMPTS = 3
TIMEOUT = 5.0


def envelope(namespace: str, event: "google_protobuf_Any_Fields") -> bytes:
    """A ForwardRequest of an event wire.pack made (containerd's typeurl names proto events by
    their bare full name)."""
    return wire.encode("containerd.services.events.ttrpc.v1.ForwardRequest", envelope={
        "timestamp": wire.timestamp(time.time_ns()), "namespace": namespace, "topic": TOPICS[event["type_url"]],
        "event": event})


class Publisher:
    def __init__(self, address: str, namespace: str, publish_binary: str = "", containerd_address: str = "") -> None:
        self.address = address
        self.namespace = namespace
        self.publish_binary = publish_binary
        self.containerd_address = containerd_address
        self._client: Client | None = None
        self._pending: list[google_protobuf_Any_Fields] = []

    def queue(self, event: "google_protobuf_Any_Fields") -> None:
        """Publish event at the next flush()."""
        self._pending.append(event)

    def flush(self) -> None:
        """Publish the queued events, in order."""
        pending, self._pending = self._pending, []
        for event in pending:
            self.publish(event)

    def publish(self, event: "google_protobuf_Any_Fields") -> None:
        """event: one of TOPICS' messages, packed by the caller (wire.pack checks its fields)."""
        if not self.address:
            if self.publish_binary:
                self._exec_publish(event)
            return
        payload = envelope(self.namespace, event)
        for attempt in range(ATTEMPTS):
            try:
                if self._client is None:
                    self._client = Client(connect(self.address), timeout=TIMEOUT)
                self._client.call(SERVICE, "Forward", payload, {NAMESPACE_HEADER: self.namespace})
                return
            except OSError:
                self.close()
                time.sleep(0.05 * (attempt + 1))
            except Exception:
                return  # containerd refused this event; retrying would not change its mind

    def _exec_publish(self, event: "google_protobuf_Any_Fields") -> None:
        from . import spawn

        try:
            spawn.run([self.publish_binary, "--address", self.containerd_address, "publish",
                       "--topic", TOPICS[event["type_url"]], "--namespace", self.namespace],
                      input=wire.encode("google.protobuf.Any", event), capture=True)
        except OSError:
            pass  # no such binary: the event is lost, as with an unreachable containerd

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
