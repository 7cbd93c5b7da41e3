"""A container's status, and which status may follow which."""

import enum


class Status(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    REMOVING = "removing"


# the state machine: which status may follow which
TRANSITIONS: dict[Status, set[Status]] = {
    Status.CREATED: {Status.RUNNING, Status.EXITED, Status.REMOVING},
    Status.RUNNING: {Status.PAUSED, Status.EXITED},
    Status.PAUSED: {Status.RUNNING, Status.EXITED},
    Status.EXITED: {Status.RUNNING, Status.REMOVING},
    Status.REMOVING: set(),
}
