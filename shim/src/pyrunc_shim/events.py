"""Publishing task events to containerd: Events.Forward over ttrpc at TTRPC_ADDRESS, or, when
containerd gives no such address, `<publish-binary> --address A publish --topic T --namespace N`
with the event (an Any) on stdin, as older containerd expects.

Events go out synchronously, in order, from the shim's single loop: Forward only queues the
event inside containerd, so it answers at once. An event that cannot be delivered after a few
quick tries (containerd restarting) is dropped, as containerd's own shims eventually do;
containerd learns the task's state again from State and Wait when it reconnects.
"""

import time

from pyrunc_proto import wire
from pyrunc_ttrpc.client import Client, connect

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


def envelope(namespace: str, event_type: str, **fields) -> bytes:
    """A ForwardRequest; containerd's typeurl names proto events by their bare full name."""
    env = {"timestamp": wire.timestamp(time.time_ns()), "namespace": namespace,
           "topic": TOPICS[event_type], "event": wire.pack(event_type, **fields)}
    return wire.encode("containerd.services.events.ttrpc.v1.ForwardRequest", envelope=env)


class Publisher:
    def __init__(self, address: str, namespace: str, publish_binary: str = "", containerd_address: str = "") -> None:
        self.address = address
        self.namespace = namespace
        self.publish_binary = publish_binary
        self.containerd_address = containerd_address
        self._client: Client | None = None

    def publish(self, event_type: str, **fields) -> None:
        if not self.address:
            if self.publish_binary:
                self._exec_publish(event_type, fields)
            return
        payload = envelope(self.namespace, event_type, **fields)
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

    def _exec_publish(self, event_type: str, fields: dict) -> None:
        from . import spawn

        event = wire.encode("google.protobuf.Any", wire.pack(event_type, **fields))
        try:
            spawn.run([self.publish_binary, "--address", self.containerd_address, "publish",
                       "--topic", TOPICS[event_type], "--namespace", self.namespace], input=event, capture=True)
        except OSError:
            pass  # no such binary: the event is lost, as with an unreachable containerd

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
