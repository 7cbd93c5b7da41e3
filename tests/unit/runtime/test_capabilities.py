"""capabilities: names this kernel knows, and the validation messages."""

import pytest
from pyrunc import capabilities, spec
from pyrunc.errors import ConfigError


def caps(**kw):
    return spec.from_dict(spec.Capabilities, kw, "process.capabilities")


def test_known_follows_cap_last_cap():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    known = capabilities.known()
    assert len(known) == min(last + 1, len(capabilities.NAMES))
    assert known[0] == "CAP_CHOWN" and known[13] == "CAP_NET_RAW" and known[21] == "CAP_SYS_ADMIN"


def test_numbers_match_linux_capability_h():
    import prctl

    for n, name in enumerate(capabilities.known()):
        if hasattr(prctl, name):  # python-prctl names what its build knew
            assert getattr(prctl, name) == n, name


@pytest.mark.parametrize("kind", capabilities.SETS)
def test_unknown_name_is_refused_naming_the_field(kind):
    with pytest.raises(ConfigError) as e:
        capabilities.validate(caps(**{kind: ["CAP_CHOWN", "CAP_KILL", "CAP_FOO"]}))
    assert str(e.value) == f'process.capabilities.{kind}[2]: unknown capability "CAP_FOO"'


def test_names_are_exact():
    # runc's names: upper case with the CAP_ prefix
    for bad in ("chown", "CAP_chown", "CHOWN"):
        with pytest.raises(ConfigError):
            capabilities.validate(caps(bounding=[bad]))


def test_valid_sets_and_none_pass():
    capabilities.validate(None)
    capabilities.validate(caps())
    every = list(capabilities.known())
    capabilities.validate(caps(bounding=every, effective=every, permitted=every, inheritable=every, ambient=every))


def test_where_is_the_callers():
    with pytest.raises(ConfigError, match=r'^--cap\.bounding\[0\]: unknown capability "CAP_X"$'):
        capabilities.validate(caps(bounding=["CAP_X"]), where="--cap")
