"""The step containers of builds a daemon crash cut off. Each RUN's container carries STEP_LABEL; those
found in the records when the daemon starts belong to no build (builds die with their daemon) and are
removed once the containers are restored. A build started since is untouched: its containers were not
among them."""

import logging
from collections.abc import Awaitable, Callable, Iterable

from ..containers.types import Record
from ..errors import PyruncdError

STEP_LABEL = "org.pyrunc.build.step"
log = logging.getLogger("pyruncd.build")


def step_containers(records: Iterable[Record]) -> list[str]:
    return [rec.id for rec in records if STEP_LABEL in rec.config.settings.labels]


async def remove_step_containers(ids: Iterable[str], remove: Callable[[str], Awaitable[None]]) -> None:
    for container_id in ids:
        try:
            await remove(container_id)
        except PyruncdError as error:
            log.warning("removing a step container of a cut off build failed",
                        extra={"id": container_id, "error": str(error)})
