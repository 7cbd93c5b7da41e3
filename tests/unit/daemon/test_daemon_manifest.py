import json

import pytest
from pyruncd.errors import InvalidArgument
from pyruncd.images.manifest import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    Platform,
    chain_ids,
    parse_platform,
    select_platform,
    sha256,
)

H = ["sha256:" + c * 64 for c in "abc"]


def _desc(arch, variant="", mt=OCI_MANIFEST, n=0):
    p = {"os": "linux", "architecture": arch}
    if variant:
        p["variant"] = variant
    return Descriptor(mt, H[n], 10, p)


def test_select_platform():
    idx = [_desc("amd64", n=0), _desc("arm64", "v8", n=1), _desc("arm", "v7", n=2)]
    assert select_platform(idx, Platform("linux", "arm64")).digest == H[1]
    assert select_platform(idx, Platform("linux", "arm64", "v8")).digest == H[1]
    assert select_platform(idx, Platform("linux", "arm", "v7")).digest == H[2]
    with pytest.raises(InvalidArgument, match="no matching manifest for linux/s390x"):
        select_platform(idx, Platform("linux", "s390x"))


def test_arm64_variant_absent_equals_v8():
    assert select_platform([_desc("arm64")], Platform("linux", "arm64", "v8")).digest == H[0]


def test_parse_platform():
    assert parse_platform("linux/arm/v7") == Platform("linux", "arm", "v7")
    with pytest.raises(InvalidArgument, match="os/arch"):
        parse_platform("amd64")


def test_chain_ids():
    a, b = H[0], H[1]
    assert chain_ids([a, b]) == [a, sha256(f"{a} {b}".encode())]


def test_manifest_checks_fields():
    doc = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
           "config": {"mediaType": "x", "digest": H[0], "size": 1},
           "layers": [{"mediaType": "text/plain", "digest": H[1], "size": 2}]}
    with pytest.raises(InvalidArgument, match=r"manifest.layers\[0\].mediaType"):
        Manifest.parse(json.dumps(doc).encode())
    doc["layers"][0]["digest"] = "sha256:nothex"
    with pytest.raises(InvalidArgument, match=r"manifest.layers\[0\].digest"):
        Manifest.parse(json.dumps(doc).encode())
