"""Image references as docker writes them: [domain[:port]/]path[:tag][@digest].

Stored names are fully qualified ("docker.io/library/busybox:latest"); `familiar`
gives the short form docker prints ("busybox:latest").
"""

import re
from dataclasses import dataclass

from .errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DOMAINS = {"index.docker.io", "registry-1.docker.io"}
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ID = re.compile(r"^[0-9a-f]{64}$")


def validate_digest(value: str, field: str = "digest") -> str:
    if not _DIGEST.match(value):
        raise InvalidArgument(f"invalid {field} {value!r}: want sha256:<64 lowercase hex>")
    return value


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def familiar_repository(self) -> str:
        if self.domain != DEFAULT_DOMAIN:
            return self.repository
        return self.path.removeprefix("library/")

    def with_digest(self, digest: str) -> "Reference":
        return Reference(self.domain, self.path, "", digest)

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    @property
    def familiar(self) -> str:
        s = self.familiar_repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s


def parse(text: str, default_tag: str = "latest") -> Reference:
    """Parse and normalize a reference; a bare name gets `default_tag` unless it has a digest."""
    if not text or text != text.strip():
        raise InvalidArgument(f"invalid reference format: {text!r}")
    name, digest = text, ""
    if "@" in text:
        name, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidArgument(f"invalid reference format: {text!r}: bad digest {digest!r}")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            raise InvalidArgument(f"invalid reference format: {text!r}: bad tag {tag!r}")
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, rest = first, parts[1:]
        if not _DOMAIN.match(domain):
            raise InvalidArgument(f"invalid reference format: {text!r}: bad registry {domain!r}")
    else:
        domain, rest = DEFAULT_DOMAIN, parts
    if domain in _LEGACY_DOMAINS:
        domain = DEFAULT_DOMAIN
    if not rest or not all(_COMPONENT.match(c) for c in rest):
        if any(c != c.lower() for c in rest):
            raise InvalidArgument(f"invalid reference format: repository name ({name}) must be lowercase")
        raise InvalidArgument(f"invalid reference format: {text!r}")
    if domain == DEFAULT_DOMAIN and len(rest) == 1:
        rest = ["library", *rest]
    path = "/".join(rest)
    if len(path) > 255:
        raise InvalidArgument(f"invalid reference format: repository name longer than 255: {text!r}")
    if not tag and not digest:
        tag = default_tag
    return Reference(domain, path, tag, digest)


def looks_like_id(text: str) -> bool:
    """A full image id, with or without its "sha256:" prefix."""
    return bool(_ID.match(text.removeprefix("sha256:")))


def familiar(name: str) -> str:
    """Short form of a stored, fully qualified name (tag or repo digest)."""
    return parse(name, default_tag="").familiar
