"""Publishing task events to containerd: Events.Forward over ttrpc at TTRPC_ADDRESS.

A thread sends them in order so a slow or restarting containerd never stalls the shim's loop;
an event that cannot be delivered after a few tries is dropped, as containerd's own shims do.
"""

import queue
import threading
import time

from google.protobuf import any_pb2
from pyrunc_proto.containerd.services.ttrpc.events.v1 import events_pb2

from .ttrpc.client import Client, connect

SERVICE = "containerd.services.events.ttrpc.v1.Events"
NAMESPACE_HEADER = "containerd-namespace-ttrpc"
TOPICS = {
    "TaskCreate": "/tasks/create",
    "TaskStart": "/tasks/start",
    "TaskExit": "/tasks/exit",
    "TaskDelete": "/tasks/delete",
    "TaskExecAdded": "/tasks/exec-added",
    "TaskExecStarted": "/tasks/exec-started",
    "TaskPaused": "/tasks/paused",
    "TaskResumed": "/tasks/resumed",
    "TaskOOM": "/tasks/oom",
}
ATTEMPTS = 5


def envelope(namespace: str, event) -> events_pb2.ForwardRequest:
    """containerd's typeurl names proto events by their full name, with no URL prefix."""
    req = events_pb2.ForwardRequest()
    env = req.envelope
    env.timestamp.FromNanoseconds(time.time_ns())
    env.namespace = namespace
    env.topic = TOPICS[event.DESCRIPTOR.name]
    env.event.CopyFrom(any_pb2.Any(type_url=event.DESCRIPTOR.full_name, value=event.SerializeToString()))
    return req


class Publisher:
    def __init__(self, address: str, namespace: str) -> None:
        self.address = address
        self.namespace = namespace
        self._queue: queue.Queue = queue.Queue()
        self._client: Client | None = None
        if address:
            threading.Thread(target=self._run, daemon=True).start()

    def publish(self, event) -> None:
        if self.address:
            self._queue.put(envelope(self.namespace, event))

    def flush(self, timeout: float = 2.0) -> None:
        """Give queued events a chance to leave before the shim exits."""
        deadline = time.monotonic() + timeout
        while self.address and self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        while True:
            req = self._queue.get()
            try:
                self._send(req)
            finally:
                self._queue.task_done()

    def _send(self, req) -> None:
        payload = req.SerializeToString()
        for attempt in range(ATTEMPTS):
            try:
                if self._client is None:
                    self._client = Client(connect(self.address), timeout=5.0)
                self._client.call(SERVICE, "Forward", payload, {NAMESPACE_HEADER: self.namespace})
                return
            except OSError:
                if self._client is not None:
                    self._client.close()
                    self._client = None
                time.sleep(0.1 * (attempt + 1))
            except Exception:
                return  # containerd refused this event; retrying would not change its mind
