"""`image prune -a` keeps the images containers use (even stopped ones), as docker does and as rmi refuses."""

import os

import pytest
from spec_fixtures import busybox_image, busybox_layer, make_image, write_docker_archive
from spec_fixtures.image import DEFAULT_ENV

from tests.harness.pyruncd import Pyruncd

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


def test_prune_all_keeps_images_in_use(tmp_path):
    tar = tmp_path / "images.tar"
    other = make_image([busybox_layer()], config={"Env": list(DEFAULT_ENV), "Cmd": ["true"]})
    write_docker_archive(str(tar), {"busybox:latest": busybox_image(), "other:latest": other})
    with Pyruncd() as d:
        d.pyctl("load", "-i", str(tar))
        busybox_id = d.pyctl("images", "-q", "busybox").stdout.strip()
        cid = d.pyctl("create", "busybox", "true").stdout.strip()
        out = d.pyctl("image", "prune", "-a", "-f").stdout
        assert "untagged: other:latest" in out and busybox_id not in out
        assert d.pyctl("images", "-q").stdout.split() == [busybox_id]
        assert d.pyctl("start", "-a", cid).returncode == 0  # its image is still whole
        d.pyctl("rm", cid)
        assert "untagged: busybox:latest" in d.pyctl("image", "prune", "-a", "-f").stdout
        assert d.pyctl("images", "-q").stdout == ""
