"""The shim mounts a deep image's overlay whose lowerdir list is longer than the page mount(2) takes,
as containerd does: the lowerdirs relative to their common parent, mounted from there."""

import os
from types import SimpleNamespace

from pyrunc_shim.mounts import OPTIONS_MAX, compact_lowerdirs, mount_rootfs, unmount_rootfs


def test_options_that_fit_are_left_alone():
    opts = ["lowerdir=/s/2/fs:/s/1/fs", "upperdir=/u", "workdir=/w"]
    assert compact_lowerdirs(opts) == ("", opts)


def test_long_lowerdirs_become_relative_to_their_parent():
    lowers = [f"/var/lib/pyruncd/snapshots/{n}/fs" for n in range(200, 0, -1)]
    cwd, opts = compact_lowerdirs([f"lowerdir={':'.join(lowers)}", "upperdir=/u", "workdir=/w"])
    assert cwd == "/var/lib/pyruncd/snapshots"
    assert opts[0] == "lowerdir=" + ":".join(f"{n}/fs" for n in range(200, 0, -1))
    assert opts[1:] == ["upperdir=/u", "workdir=/w"]


def test_an_overlay_of_125_layers_with_long_paths_mounts(tmp_path):
    snapshots = tmp_path / ("d" * 40) / "snapshots"
    lowers = []
    for n in range(1, 126):
        fs = snapshots / str(n) / "fs"
        fs.mkdir(parents=True)
        (fs / f"layer{n}").write_text(str(n))
        lowers.insert(0, str(fs))
    upper, work, target = tmp_path / "upper", tmp_path / "work", tmp_path / "rootfs"
    for d in (upper, work, target):
        d.mkdir()
    options = [f"lowerdir={':'.join(lowers)}", f"upperdir={upper}", f"workdir={work}"]
    assert len(",".join(options)) > OPTIONS_MAX
    here = os.getcwd()
    try:
        mount_rootfs([SimpleNamespace(type="overlay", source="overlay", options=options)], str(target))
        assert os.getcwd() == here
        assert (target / "layer1").read_text() == "1" and (target / "layer125").read_text() == "125"
    finally:
        unmount_rootfs(str(target))
    assert not os.path.ismount(target)
