"""-u's supplementary groups (the spec's user.additionalGids), as observed on dockerd 20.10.24 over runc:
the primary gid first, then, only when no group was given and the user was found in passwd (by name, by
number, or uid 0's entry for no -u at all), every group listing that user, in /etc/group's order. dockerd
writes duplicates into its spec and runc drops them before setgroups: ours come without them."""

import pytest
from pyruncd.containers import spec
from pyruncd.errors import InvalidArgument

PASSWD = """root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
web:x:33:33::/:/bin/sh
multi:x:1000:1000::/:/bin/sh
33:x:7:7::/:/bin/sh
"""
GROUP = """root:x:0:root
nobody:x:65534:
nogroup:x:65533:
web:x:33:
multi:x:1000:multi
extra:x:50:web,multi
audio:x:29:multi,root
other:x:60:
dup:x:50:multi
60:x:61:
"""

# user -> (uid, gid, additionalGids); each row but the last two checked against dockerd's `id` and spec
TABLE = {
    "": (0, 0, [0, 29]),
    "0": (0, 0, [0, 29]),
    "root": (0, 0, [0, 29]),
    "1234": (1234, 0, [0]),
    "1234:5678": (1234, 5678, [5678]),
    "nobody": (65534, 65534, [65534]),
    "65534": (65534, 65534, [65534]),
    "nobody:nogroup": (65534, 65533, [65533]),
    "web": (33, 33, [33, 50]),
    "multi": (1000, 1000, [1000, 50, 29]),
    "1000": (1000, 1000, [1000, 50, 29]),
    "multi:other": (1000, 60, [60]),
    "multi:60": (1000, 60, [60]),
    "multi:1000": (1000, 1000, [1000]),
    "1000:1000": (1000, 1000, [1000]),
    "0:0": (0, 0, [0]),
    "root:root": (0, 0, [0]),
    "web:50": (33, 50, [50]),
    "1234:extra": (1234, 50, [50]),
    "multi:extra": (1000, 50, [50]),
    ":5678": (0, 5678, [5678]),
    # runc's filters: a number is only ever an id, never the name "33" nor the group named "60"
    "33:60": (33, 60, [60]),
}


@pytest.fixture
def layers(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text(PASSWD)
    (lower / "etc" / "group").write_text(GROUP)
    upper.mkdir()
    return lower, upper


@pytest.mark.parametrize("user", list(TABLE))
def test_the_table_as_dockerd(layers, user):
    lower, upper = layers
    uid, gid, extra = TABLE[user]
    assert spec.resolve_user(user, [lower], upper) == {"uid": uid, "gid": gid, "additionalGids": extra}


def test_no_user_is_uid_0s_entry_whatever_its_name(layers):
    lower, upper = layers
    (upper / "etc").mkdir()
    (upper / "etc" / "passwd").write_text("toor:x:0:0::/:/bin/sh\nroot:x:0:0::/:/bin/sh\n")
    (upper / "etc" / "group").write_text("wheel:x:10:toor\naudio:x:29:root\n")
    assert spec.resolve_user("", [lower], upper) == {"uid": 0, "gid": 0, "additionalGids": [0, 10]}
    assert spec.resolve_user("root", [lower], upper) == {"uid": 0, "gid": 0, "additionalGids": [0, 29]}


def test_busybox_alike_and_no_group_file(layers):
    lower, upper = layers
    (lower / "etc" / "group").unlink()
    assert spec.resolve_user("web", [lower], upper) == {"uid": 33, "gid": 33, "additionalGids": [33]}
    assert spec.resolve_user("1234:5678", [lower], upper) == {"uid": 1234, "gid": 5678, "additionalGids": [5678]}
    with pytest.raises(InvalidArgument, match="^unable to find group nogroup: no matching entries in group file$"):
        spec.resolve_user("nobody:nogroup", [lower], upper)


def test_hostile_group_rows_are_skipped_or_refused(layers):
    lower, upper = layers
    (upper / "etc").mkdir()
    (upper / "etc" / "group").write_text("short:x\nbad:x:notanumber:web\nhuge:x:" + "9" * 5000 + ":nobody\n"
                                         "web:x:33:\nfar:x:4294967295:web\n")
    with pytest.raises(InvalidArgument, match="uids and gids must be in range 0-2147483647"):
        spec.resolve_user("web", [lower], upper)  # a group listing web with a gid out of range
    assert spec.resolve_user("1234:33", [lower], upper)["additionalGids"] == [33]
    # a gid too long for int() is no number: that row is skipped, as the one with letters
    assert spec.resolve_user("nobody", [lower], upper)["additionalGids"] == [65534]
