"""`ADD <url> <dest>`: the file fetched by the daemon (http and https), as docker's builder does it:

- its name is the URL path's last element (else Content-Disposition's filename); a destination not
  ending in / names the file itself;
- written with mode 0600 (unless --chmod) and the Last-Modified time as its mtime; never extracted, even
  when it is an archive;
- fetched again at every build: the step's cache key is the content's digest (docker compares the
  checksum), and `--checksum=sha256:<hex>` is verified when given;
- bounded: a size limit (a Content-Length past it is refused before reading, a body past it on the way),
  connect and read timeouts, at most 10 redirects (Go's default), to http or https only.
"""

import email.message
import email.utils
import hashlib
import http.client
import os
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..threads import in_thread
from .errors import ContextError

MAX_BYTES = 8 << 30
TIMEOUT = 30.0
MAX_REDIRECTS = 10
_CHUNK = 1 << 20


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@dataclass(frozen=True, kw_only=True)
class Fetched:
    url: str
    name: str  # the file's name when the destination is a directory ("" if the URL gives none)
    path: Path  # the bytes, in the build's scratch
    digest: str  # "sha256:<hex>"
    mtime: float | None  # from Last-Modified


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if not is_url(newurl):
            raise urllib.error.HTTPError(newurl, code, f"redirect to {newurl} refused: not http or https",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _name(url: str, headers: email.message.Message) -> str:
    name = posixpath.basename(urllib.parse.urlsplit(url).path)
    if not name:
        name = headers.get_filename() or ""
    name = posixpath.basename(name.replace("\\", "/"))
    return "" if name in (".", "..") else name


def _mtime(headers: email.message.Message) -> float | None:
    value = headers.get("Last-Modified")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _too_large(url: str, limit: int) -> ContextError:
    return ContextError(f"ADD {url}: the download is larger than the maximum of {limit} bytes")


def fetch(url: str, scratch: Path, *, checksum: str | None = None, limit: int = MAX_BYTES,
          timeout: float = TIMEOUT) -> Fetched:
    """Blocking (a thread): `url` downloaded into the new directory `scratch`."""
    opener = urllib.request.build_opener(_Redirects())
    request = urllib.request.Request(url, headers={"User-Agent": "pyruncd-build"})
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise _too_large(url, limit)
            digest, received = hashlib.sha256(), 0
            path = scratch / "download"
            with open(path, "xb") as out:
                while chunk := response.read(_CHUNK):
                    received += len(chunk)
                    if received > limit:
                        raise _too_large(url, limit)
                    digest.update(chunk)
                    out.write(chunk)
            fetched = Fetched(url=url, name=_name(response.geturl(), response.headers), path=path,
                              digest="sha256:" + digest.hexdigest(), mtime=_mtime(response.headers))
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:  # urllib gives up on a loop or past max_redirections; Go's words
            raise ContextError(f"failed to GET {url}: stopped after {MAX_REDIRECTS} redirects") from None
        raise ContextError(f"failed to GET {url} with status {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise ContextError(f"failed to GET {url}: {reason}") from None
    if checksum is not None and checksum != fetched.digest:
        raise ContextError(f"digest mismatch {fetched.digest}: {checksum}")
    return fetched


async def fetch_all(urls: Sequence[str], scratch: Callable[[], Path], checksum: str | None) -> list[Fetched]:
    """Each URL fetched, in order, in a new scratch directory of its own."""
    if checksum is not None and not (checksum.startswith("sha256:") and len(checksum) == 71):
        raise ContextError(f"invalid checksum digest format: {checksum}")
    fetched = []
    for url in urls:
        work = scratch()
        fetched.append(await in_thread(lambda: fetch(url, work, checksum=checksum)))  # noqa: B023 - awaited here
    return fetched


def set_mtime(dir_fd: int, name: str, fetched: Fetched) -> None:
    if fetched.mtime is not None:
        os.utime(name, (fetched.mtime, fetched.mtime), dir_fd=dir_fd, follow_symlinks=False)
