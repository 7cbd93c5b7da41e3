"""Device cgroup rules: the spec's list plus the allow list runc appends to every container.

runc adds these after linux.resources.devices, so a default spec (deny all) still
lets the container use /dev/null, zero, full, random, urandom, tty, the console
pty pair and /dev/net/tun, and mknod any device (it cannot open what is not allowed).
"""


class Rule:
    """One allow/deny rule. A plain class: a dataclass here cost ~10 ms of every create (its import)."""

    __slots__ = ("allow", "type", "major", "minor", "access")

    def __init__(self, allow, type="a", major=None, minor=None, access="rwm"):
        self.allow = allow
        self.type = type      # a, c or b
        self.major = major    # None is the wildcard
        self.minor = minor
        self.access = access

    def __eq__(self, other):
        return isinstance(other, Rule) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __hash__(self):
        return hash(tuple(getattr(self, k) for k in self.__slots__))

    def __repr__(self):
        return "Rule(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"

    def v1(self):
        """The line for devices.allow / devices.deny."""
        if self.type == "a":
            return "a"
        major = "*" if self.major is None or self.major < 0 else self.major
        minor = "*" if self.minor is None or self.minor < 0 else self.minor
        return f"{self.type} {major}:{minor} {self.access}"


DEFAULT_ALLOWED = (
    Rule(True, "c", None, None, "m"),
    Rule(True, "b", None, None, "m"),
    Rule(True, "c", 1, 3),     # /dev/null
    Rule(True, "c", 1, 8),     # /dev/random
    Rule(True, "c", 1, 7),     # /dev/full
    Rule(True, "c", 5, 0),     # /dev/tty
    Rule(True, "c", 1, 5),     # /dev/zero
    Rule(True, "c", 1, 9),     # /dev/urandom
    Rule(True, "c", 136, None),  # /dev/pts/*
    Rule(True, "c", 5, 2),     # /dev/ptmx
    Rule(True, "c", 10, 200),  # /dev/net/tun
)


def rules_from_spec(devices):
    """linux.resources.devices -> Rules, validated; the error names the entry."""
    from ..errors import PyruncError

    rules = []
    for i, d in enumerate(devices):
        kind = d.type or "a"
        if kind not in ("a", "c", "b"):
            raise PyruncError(f"linux.resources.devices[{i}].type: expected a, c or b, got {kind!r}")
        access = d.access or "rwm"
        if not access or any(ch not in "rwm" for ch in access):
            raise PyruncError(f"linux.resources.devices[{i}].access: expected letters of rwm, got {access!r}")
        rules.append(Rule(d.allow, kind, d.major, d.minor, access))
    return rules


def effective_rules(devices):
    """What runc writes: the spec's rules in order, then the default allow list."""
    return rules_from_spec(devices) + list(DEFAULT_ALLOWED)
