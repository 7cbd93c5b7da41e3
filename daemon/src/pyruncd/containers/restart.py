"""Restart policies as docker's restart manager has them.

`decide` is the rule (pure); `Restarts` holds each container's back-off and its pending restart
(an asyncio timer) and asks the manager to start it again when the timer fires. While one is
pending the container is "restarting".
"""

import asyncio
import logging
from dataclasses import dataclass

from ..errors import InvalidArgument

log = logging.getLogger("pyruncd.containers")

POLICIES = ("no", "always", "on-failure", "unless-stopped")
BACKOFF_START = 0.1   # seconds; doubled at each restart
BACKOFF_MAX = 60.0
RESET_AFTER = 10.0    # a run this long resets the back-off


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"
    max_retries: int = 0  # on-failure only; 0 is no limit

    def __str__(self) -> str:
        return f"{self.name}:{self.max_retries}" if self.max_retries else self.name


def parse_restart(text: str, auto_remove: bool = False) -> RestartPolicy:
    text = text.strip()
    if not text:
        return RestartPolicy()
    name, colon, count = text.partition(":")
    if name not in POLICIES:
        raise InvalidArgument(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                              "'on-failure', or 'unless-stopped'")
    retries = 0
    if colon:
        if name != "on-failure":
            raise InvalidArgument("invalid restart policy: maximum retry count can only be used with 'on-failure'")
        try:
            retries = int(count)
        except ValueError:
            raise InvalidArgument(f'invalid argument "{text}" for "--restart" flag: maximum retry count must be '
                                  "an integer") from None
        if retries < 0:
            raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if auto_remove and name != "no":
        raise InvalidArgument("Conflicting options: --restart and --rm")
    return RestartPolicy(name, retries)


def decide(policy: RestartPolicy, exit_code: int, restart_count: int, manually_stopped: bool) -> bool:
    """Whether an exit is followed by a restart (docker's ShouldRestart, a cancelled manager aside)."""
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not manually_stopped
    if policy.name == "on-failure":
        return exit_code != 0 and (policy.max_retries == 0 or restart_count < policy.max_retries)
    return False


def next_backoff(previous: float, ran_for: float) -> float:
    if ran_for >= RESET_AFTER or previous == 0:
        return BACKOFF_START
    return min(previous * 2, BACKOFF_MAX)


class Restarts:
    """Pending restarts and back-offs. `start(cid, wanted)` is the manager's coroutine that starts a container
    again; it asks `wanted()` under the container's lock, so a stop that got the lock first calls it off."""

    def __init__(self, start):
        self._start = start
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._backoff: dict[str, float] = {}
        self._cancelled: set[str] = set()  # stopped or removed while running: the coming exit restarts nothing
        self._firing: set[str] = set()     # timer fired, start under way: a stop meanwhile calls it off

    def restarting(self, cid: str) -> bool:
        """Waiting out its back-off, or being started again (docker's Restarting until the task runs)."""
        return cid in self._pending or cid in self._firing

    def reset(self, cid: str) -> None:
        """A start by hand, or the container is gone: nothing pending, back-off from the start."""
        handle = self._pending.pop(cid, None)
        if handle is not None:
            handle.cancel()
        self._backoff.pop(cid, None)
        self._cancelled.discard(cid)
        self._firing.discard(cid)

    def cancel(self, cid: str, running: bool) -> None:
        """A stop or a remove (docker's restart manager Cancel): also for the exit it causes when `running`."""
        self.reset(cid)
        if running:
            self._cancelled.add(cid)

    def exited(self, cid: str, policy: RestartPolicy, exit_code: int, restart_count: int, manually_stopped: bool,
               ran_for: float) -> bool:
        """After an exit is recorded: schedule the restart the policy asks for; True when one is."""
        if cid in self._cancelled:
            self._cancelled.discard(cid)
            return False
        if not decide(policy, exit_code, restart_count, manually_stopped):
            self._backoff.pop(cid, None)
            return False
        delay = self._backoff[cid] = next_backoff(self._backoff.get(cid, 0), ran_for)
        loop = asyncio.get_running_loop()
        self._pending[cid] = loop.call_later(delay, lambda: asyncio.ensure_future(self._fire(cid)))
        log.info("container restarting", extra={"id": cid, "delay": delay})
        return True

    async def _fire(self, cid: str) -> None:
        if self._pending.pop(cid, None) is None:
            return
        self._firing.add(cid)
        try:
            await self._start(cid, lambda: cid in self._firing)
        except Exception as e:  # noqa: BLE001 - a failed restart ends the policy, as docker's
            log.warning("restart failed", extra={"id": cid, "error": str(e)})
            self._backoff.pop(cid, None)
        finally:
            self._firing.discard(cid)

    def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
