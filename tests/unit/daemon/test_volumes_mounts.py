"""Pure logic of container mounts: -v, --mount, --tmpfs, --volumes-from parsing, precedence, OCI entries,
inspect's Mounts; and the volume store over an in-memory meta.db."""

import sqlite3

import pytest
from pyruncd import db
from pyruncd.containers.spec import Process, Settings, build
from pyruncd.errors import Conflict, InvalidArgument, NotFound
from pyruncd.volumes import mounts as vm
from pyruncd.volumes.store import VolumeStore, matches, parse_filters


def never(_):
    raise AssertionError("no --volumes-from here")


def resolve(*, v=(), mount=(), tmpfs=(), volumes_from=(), image=(), others=never, exists=lambda p: True):
    return vm.resolve(vm.MountFlags(list(v), list(mount), list(tmpfs), list(volumes_from)), image, others, exists)


# ---- -v

def test_named_volume():
    m = vm.parse_volume("data:/srv/data")
    assert (m.type, m.name, m.destination, m.rw, m.mode, m.copy_data, m.anonymous) == (
        "volume", "data", "/srv/data", True, "z", True, False)


def test_named_volume_ro_nocopy():
    m = vm.parse_volume("data:/srv:ro,nocopy")
    assert (m.rw, m.mode, m.copy_data) == (False, "ro,nocopy", False)


def test_bind_with_propagation_and_ro():
    m = vm.parse_volume("/host/dir/:/in:ro,rslave")
    assert (m.type, m.source, m.destination, m.rw, m.propagation, m.create_source) == (
        "bind", "/host/dir", "/in", False, "rslave", True)
    assert vm.parse_volume("/h:/in").propagation == "rprivate"


def test_anonymous_volume():
    m = vm.parse_volume("/cache")
    assert (m.type, m.name, m.anonymous, m.copy_data, m.mode) == ("volume", "", True, True, "")


@pytest.mark.parametrize("raw, msg", [
    ("", "invalid volume specification: ''"),
    ("/a:rw", "invalid volume specification: '/a:rw'"),
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    ("v:/x:bogus", "invalid mode: bogus"),
    ("v:/x:ro,rw", "invalid mode: ro,rw"),
    ("v:rel", "invalid volume specification: 'v:rel': invalid mount config for type \"volume\": "
              "invalid mount path: 'rel' mount path must be absolute"),
    ("/h:/", "invalid volume specification: '/h:/': invalid mount config for type \"bind\": "
             "invalid specification: destination can't be '/'"),
    ("a b:/x", '"a b" includes invalid characters for a local volume name'),
    ("x:/y", "volume name is too short"),
])
def test_volume_errors(raw, msg):
    with pytest.raises(InvalidArgument, match=None) as e:
        vm.parse_volume(raw)
    assert str(e.value).startswith(msg)


# ---- --mount

def test_mount_bind():
    m = vm.parse_mount("type=bind,source=/h,target=/in,readonly,bind-propagation=rshared", exists=lambda p: True)
    assert (m.type, m.source, m.destination, m.rw, m.propagation, m.copy_data, m.mode) == (
        "bind", "/h", "/in", False, "rshared", False, "")


def test_mount_bind_source_must_exist():
    with pytest.raises(InvalidArgument) as e:
        vm.parse_mount("type=bind,src=/nope,dst=/in", exists=lambda p: False)
    assert str(e.value) == 'invalid mount config for type "bind": bind source path does not exist: /nope'


def test_mount_volume_and_labels():
    m = vm.parse_mount('type=volume,src=data,dst=/d,volume-nocopy,"volume-label=a=b"')
    assert (m.name, m.copy_data, m.labels, m.mode) == ("data", False, {"a": "b"}, "")
    anon = vm.parse_mount("type=volume,target=/d")
    assert anon.anonymous and anon.copy_data


def test_mount_tmpfs_options():
    m = vm.parse_mount("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770,ro=true")
    assert m.data == "ro,mode=1770,size=64m"
    assert vm.parse_mount("type=tmpfs,dst=/t,tmpfs-size=1000").data == "size=1000"


@pytest.mark.parametrize("raw, msg", [
    ("target=/x", "type is required"),
    ("type=volume", "target is required"),
    ("type=volume,target=/x,foo=1", "unexpected key 'foo' in 'foo=1'"),
    ("type=volume,target=/x,source", "invalid field 'source' must be a key=value pair"),
    ("type=bind,target=/x,src=/h,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
    ("type=tmpfs,target=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ("type=bind,target=/x,readonly=maybe", "invalid value for readonly: maybe"),
])
def test_mount_flag_errors(raw, msg):
    with pytest.raises(InvalidArgument) as e:
        vm.parse_mount(raw)
    assert str(e.value) == f'invalid argument "{raw}" for "--mount" flag: {msg}'


@pytest.mark.parametrize("raw, msg", [
    ("type=bind,target=/x", 'invalid mount config for type "bind": field Source must not be empty'),
    ("type=tmpfs,source=a,target=/x", 'invalid mount config for type "tmpfs": field Source must not be specified'),
    ("type=volume,target=/x,ro", 'invalid mount config for type "volume": must not set ReadOnly mode when '
                                 'using anonymous volumes'),
    ("type=npipe,target=/x", 'invalid mount config for type "npipe": mount type unknown'),
    ("type=volume,target=x", "invalid mount config for type \"volume\": invalid mount path: 'x' mount path must "
                             "be absolute"),
])
def test_mount_config_errors(raw, msg):
    with pytest.raises(InvalidArgument) as e:
        vm.parse_mount(raw)
    assert str(e.value) == msg


# ---- --tmpfs and --volumes-from

def test_tmpfs():
    m = vm.parse_tmpfs("/run:rw,size=64m,exec")
    assert (m.type, m.destination, m.data, m.listed) == ("tmpfs", "/run", "rw,size=64m,exec", False)
    with pytest.raises(InvalidArgument, match='for "--tmpfs" flag: invalid mount path'):
        vm.parse_tmpfs("run")
    with pytest.raises(InvalidArgument, match="Invalid tmpfs option"):
        vm.parse_tmpfs("/run:bogus=1")


def test_merge_tmpfs_options_later_wins():
    assert vm.merge_tmpfs_options(["noexec", "nosuid", "nodev", "rprivate", "exec", "size=1m", "size=2m"]) == [
        "nosuid", "nodev", "rprivate", "exec", "size=2m"]


def test_volumes_from_modes():
    assert vm.parse_volumes_from("c1") == ("c1", False)
    assert vm.parse_volumes_from("c1:ro") == ("c1", True)
    for bad in ("c1:rshared", "c1:nocopy", "c1:bogus"):
        with pytest.raises(InvalidArgument, match="invalid mode"):
            vm.parse_volumes_from(bad)
    with pytest.raises(InvalidArgument, match="cannot be an empty string"):
        vm.parse_volumes_from("")


# ---- precedence

def test_resolve_precedence_and_anonymous_names():
    theirs = [vm.MountPoint("volume", "/shared", name="s", source="/v/s/_data", mode="z"),
              vm.MountPoint("volume", "/over", name="o"),
              vm.MountPoint("tmpfs", "/t", listed=False)]
    out = resolve(v=["/h:/over", "/anon", "named:/img"], volumes_from=["c:ro"], image=["/img", "/fromimage"],
                  others=lambda name: theirs)
    by = {m.destination: m for m in out}
    assert set(by) == {"/shared", "/over", "/anon", "/img", "/fromimage"}  # --tmpfs is not inherited
    assert by["/shared"].rw is False and by["/shared"].copy_data is False and by["/shared"].mode == ""
    assert by["/over"].type == "bind"
    assert by["/img"].name == "named"  # -v wins over the image's VOLUME
    for d in ("/anon", "/fromimage"):
        assert by[d].anonymous and len(by[d].name) == 64


def test_resolve_duplicates():
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /x"):
        resolve(v=["a1:/x"], mount=["type=volume,src=b1,dst=/x"])
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /x"):
        resolve(v=["a1:/x"], tmpfs=["/x"])


# ---- OCI and inspect

def test_oci_mounts():
    ms = [vm.MountPoint("bind", "/a/b", source="/h", rw=False, propagation="rprivate"),
          vm.MountPoint("volume", "/a", source="/v/_data", name="v"),
          vm.MountPoint("tmpfs", "/t", data="size=1m,exec", listed=False)]
    out = vm.oci_mounts(ms)
    assert [m["destination"] for m in out] == ["/a", "/t", "/a/b"]
    assert out[0] == {"destination": "/a", "type": "bind", "source": "/v/_data", "options": ["rbind", "rprivate"]}
    assert out[2]["options"] == ["rbind", "ro", "rprivate"]
    assert out[1] == {"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                      "options": ["nosuid", "nodev", "rprivate", "size=1m", "exec"]}


def test_spec_build_orders_user_mounts_with_etc_binds():
    doc = build(Process(["true"], [], "/", ""), Settings("h"), user={"uid": 0, "gid": 0},
                etc={"/etc/hosts": "/x/hosts"}, cgroups_path="/p/c",
                volumes=vm.oci_mounts([vm.MountPoint("volume", "/etc", source="/v", name="v"),
                                       vm.MountPoint("tmpfs", "/dev/shm", listed=False)]))
    dests = [m["destination"] for m in doc["mounts"]]
    assert dests.index("/etc") < dests.index("/etc/hosts")
    assert dests.count("/dev/shm") == 1 and next(m for m in doc["mounts"] if m["destination"] == "/dev/shm")[
        "source"] == "tmpfs"


def test_inspect_mounts():
    ms = [vm.MountPoint("volume", "/d", source="/v/_data", name="v", mode="z"),
          vm.MountPoint("bind", "/b", source="/h", rw=False, mode="ro", propagation="rprivate"),
          vm.MountPoint("tmpfs", "/t", listed=False)]
    assert vm.inspect_mounts(ms) == [
        {"Type": "volume", "Name": "v", "Source": "/v/_data", "Destination": "/d", "Driver": "local", "Mode": "z",
         "RW": True, "Propagation": ""},
        {"Type": "bind", "Source": "/h", "Destination": "/b", "Mode": "ro", "RW": False, "Propagation": "rprivate"}]


# ---- the store

@pytest.fixture
def store(tmp_path):
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    db.migrate(conn)
    yield VolumeStore(conn, tmp_path / "volumes")
    conn.close()


def _container(store, cid):
    store.conn.execute("INSERT INTO containers(id, name, image, image_id, created, config, status) "
                       "VALUES (?,?,?,?,?,?,?)", (cid, cid, "i", "i", "t", "{}", "created"))


def test_store_in_use_and_prune(store, tmp_path):
    store.create("keep", labels={"a": "1"})
    assert store.create("keep").labels == {"a": "1"}  # idempotent
    anon = store.create()
    assert anon.anonymous and anon.labels == {vm.ANONYMOUS_LABEL: ""}
    _container(store, "c1")
    used = [vm.MountPoint("volume", "/d", name="busy"), vm.MountPoint("volume", "/e", name="a" * 64, anonymous=True)]
    store.place(used)
    store.attach("c1", used)
    assert used[0].source == str(tmp_path / "volumes" / "busy" / "_data") and (tmp_path / "volumes/busy/_data").is_dir()
    with pytest.raises(Conflict, match=r"remove busy: volume is in use - \[c1\]"):
        store.remove("busy", force=True)
    names, _ = store.prune(all=False)
    assert names == [anon.name]
    names, _ = store.prune(all=True)
    assert names == ["keep"]
    store.conn.execute("DELETE FROM containers WHERE id='c1'")  # the refs go with the container
    assert [d.name for d in store.release_anonymous(used)] == ["a" * 64]
    assert [v.name for v in store.find()] == ["busy"]
    with pytest.raises(NotFound, match="get nope: no such volume"):
        store.remove("nope")
    assert store.remove("nope", force=True) is None


def test_filters(store):
    store.create("web-data", labels={"tier": "web"})
    store.create("db-data")
    assert [v.name for v in store.find(parse_filters(["label=tier=web"]))] == ["web-data"]
    assert [v.name for v in store.find(parse_filters(["name=db", "dangling=true"]))] == ["db-data"]
    assert not matches(store.get("db-data"), parse_filters(["dangling=false"]))
    with pytest.raises(InvalidArgument):
        parse_filters(["color=red"])
