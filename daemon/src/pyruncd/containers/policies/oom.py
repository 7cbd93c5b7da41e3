"""OOMKilled: the shim's TaskOOM (events.py, published as Oom) is told at this container's exit, as dockerd
tells containerd's. It may come before the start is recorded (an OOM at once), so it is not checked
against the live containers.
"""

from ..runtime import Exiting, Lifecycle, Oom, Runtime, Started, StartRequested
from ..store import Store
from ..types import Status


class OomPolicy:
    def __init__(self, runtime: Runtime, store: Store) -> None:
        self._store = store
        self._ooms: set[str] = set()  # containers the kernel's OOM killer acted in since they started
        runtime.subscribe(self.on_event)

    def on_event(self, event: Lifecycle) -> None:
        match event:
            case Oom(container_id=cid):
                self._ooms.add(cid)
            case StartRequested(record=rec):
                self._ooms.discard(rec.id)
            case Started(record=rec):
                if rec.config.run.oom_killed and rec.status == Status.RUNNING:  # as docker's SetRunning
                    rec.config.run.oom_killed = False
                    self._store.save(rec)
            case Exiting(record=rec):
                rec.config.run.oom_killed = rec.id in self._ooms
                self._ooms.discard(rec.id)
