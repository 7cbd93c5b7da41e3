"""-u and the image's passwd/group: ranges, images without passwd, and passwd files as hostile input."""

import os

import pytest
from pyruncd.containers import spec
from pyruncd.errors import InvalidArgument

PASSWD = "root:x:0:0::/root:/bin/sh\nweb:x:33:33::/:/bin/sh\n"


@pytest.fixture
def layers(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "etc").mkdir(parents=True)
    upper.mkdir()
    return lower, upper


def test_no_passwd_runs_as_root_without_reading_it(layers):
    lower, upper = layers
    assert spec.resolve_user("", [lower], upper) == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert spec.resolve_user("1000", [lower], upper) == {"uid": 1000, "gid": 0, "additionalGids": [0]}
    assert spec.resolve_user("1000:1000", [lower], upper) == {"uid": 1000, "gid": 1000, "additionalGids": [1000]}
    assert spec.resolve_user("", [lower], upper / "not-made-yet") == {"uid": 0, "gid": 0, "additionalGids": [0]}
    with pytest.raises(InvalidArgument, match="^unable to find user root: no matching entries in passwd file$"):
        spec.resolve_user("root", [lower], upper)


@pytest.mark.parametrize("user", ["4294967295", "-1", "0:4294967295", "2147483648:0", "0:-1"])
def test_ids_out_of_range_are_refused_naming_the_flag(layers, user):
    lower, upper = layers
    want = f'^invalid argument "{user}" for "-u, --user" flag: uids and gids must be in range 0-2147483647$'
    with pytest.raises(InvalidArgument, match=want):
        spec.resolve_user(user, [lower], upper)
    with pytest.raises(InvalidArgument, match=want):
        spec.check_user(user)
    assert spec.resolve_user("2147483647:2147483647", [lower], upper) == {
        "uid": 2147483647, "gid": 2147483647, "additionalGids": [2147483647]}


def test_a_passwd_naming_an_id_out_of_range_is_refused(layers):
    lower, upper = layers
    (lower / "etc" / "passwd").write_text("evil:x:4294967295:0::/:/bin/sh\n")
    with pytest.raises(InvalidArgument, match="uids and gids must be in range 0-2147483647"):
        spec.resolve_user("evil", [lower], upper)


def test_symlinks_resolve_inside_the_layers_never_on_the_host(layers, tmp_path):
    lower, upper = layers
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text("evil:x:5:5::/:/bin/sh\n")
    os.symlink(str(host / "passwd"), lower / "etc" / "passwd")  # absolute: the container's / is the layers
    with pytest.raises(InvalidArgument, match="unable to find user evil"):
        spec.resolve_user("evil", [lower], upper)
    os.unlink(lower / "etc" / "passwd")
    os.symlink("../" * 10 + str(host / "passwd").lstrip("/"), lower / "etc" / "passwd")
    with pytest.raises(InvalidArgument, match="unable to find user evil"):
        spec.resolve_user("evil", [lower], upper)
    # a whole /etc that points at the host's
    os.unlink(lower / "etc" / "passwd")
    (upper / "etc").symlink_to(host)
    with pytest.raises(InvalidArgument, match="unable to find user evil"):
        spec.resolve_user("evil", [lower], upper)
    # a symlink inside the image is followed there, across layers
    (upper / "etc").unlink()
    (lower / "srv").mkdir()
    (lower / "srv" / "passwd").write_text(PASSWD)
    os.symlink("../srv/./passwd", lower / "etc" / "passwd")
    assert spec.resolve_user("web", [lower], upper) == {"uid": 33, "gid": 33, "additionalGids": [33]}


def test_a_whiteout_hides_the_lower_passwd(layers):
    lower, upper = layers
    (lower / "etc" / "passwd").write_text(PASSWD)
    (upper / "etc").mkdir()
    os.mknod(upper / "etc" / "passwd", 0o020000, os.makedev(0, 0))
    with pytest.raises(InvalidArgument, match="unable to find user web"):
        spec.resolve_user("web", [lower], upper)


def test_reads_are_bounded(layers):
    lower, upper = layers
    (lower / "etc" / "passwd").write_text("x" * (2 << 20))
    with pytest.raises(InvalidArgument, match="^/etc/passwd of the image is larger than 1 MiB$"):
        spec.resolve_user("web", [lower], upper)
    os.unlink(lower / "etc" / "passwd")
    os.mkfifo(lower / "etc" / "passwd")  # never opened: it would block
    assert spec.resolve_user("", [lower], upper) == {"uid": 0, "gid": 0, "additionalGids": [0]}
