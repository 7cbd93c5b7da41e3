"""Restart policies as docker's restart manager has them: `--restart` parsed, and `decide`, the rule (pure).
What acts on it is policies/restart.py.
"""

from dataclasses import dataclass

from ..errors import InvalidArgument

POLICIES = ("no", "always", "on-failure", "unless-stopped")


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


