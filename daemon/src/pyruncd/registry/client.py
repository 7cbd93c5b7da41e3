"""OCI distribution client for one registry host (manifests and blobs, pull and push).

Plain HTTP is used only for hosts on 127.0.0.0/8 (and ::1, localhost) or listed as insecure
(HOST:PORT, or a CIDR the host's address is in), and even then HTTPS is tried first, as docker
does. A registry that is not insecure and answers HTTPS in plain HTTP is refused in docker's words.
"""

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import Any

import httpx

from ..content import BlobWriter
from ..errors import AuthError, NotFound, RegistryError, Unreachable
from .auth import fetch_token, parse_challenges
from .credentials import Credentials

DOCKER_HUB_API = "registry-1.docker.io"
_CHUNK = 1 << 20
_ACCEPT_MANIFESTS = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def is_insecure(host: str, insecure: Collection[str]) -> bool:
    """Whether `host` may be reached without TLS verification or over plain HTTP: loopback (docker's
    default 127.0.0.0/8), a HOST:PORT listed, or an address in a CIDR listed (--insecure-registry 10.0.0.0/8)."""
    if host in insecure:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or any(address in network for network in _networks(insecure))


def _networks(insecure: Collection[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for entry in insecure:
        if "/" in entry:
            with contextlib.suppress(ValueError):
                out.append(ipaddress.ip_network(entry, strict=False))
    return out


def _tls_failed(e: BaseException) -> bool:
    """Whether an httpx error came from the TLS handshake (httpx and httpcore each wrap ssl's error)."""
    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _no_such_host(e: BaseException, host: str) -> str:
    """Go's words for a name no DNS server knows ("dial tcp: lookup H on 10.0.0.53:53: no such host"), which
    docker prints as the pull's error; "" for any other failure."""
    cause: BaseException | None = e
    while cause is not None and not isinstance(cause, socket.gaierror):
        cause = cause.__cause__ or cause.__context__
    if cause is None or cause.errno != socket.EAI_NONAME:
        return ""
    try:
        with open("/etc/resolv.conf", encoding="utf-8", errors="replace") as f:
            servers = [words[1] for words in map(str.split, f) if len(words) > 1 and words[0] == "nameserver"]
    except OSError:
        servers = []
    server = f"[{servers[0]}]" if servers and ":" in servers[0] else (servers[0] if servers else "")
    return f"dial tcp: lookup {host}{f' on {server}:53' if server else ''}: no such host"


class _Denied(AuthError):
    """A bearer token was given and the registry still refused it: the token grants nothing there."""


def familiar_name(host: str, repo: str) -> str:
    """A repository as docker prints it: busybox for docker.io/library/busybox."""
    if host != "docker.io":
        return f"{host}/{repo}"
    return repo.removeprefix("library/")


def _registry_message(resp: httpx.Response) -> str:
    """The first error message of a registry's JSON error body, if any."""
    try:
        errors = resp.json().get("errors") or []
        return str(errors[0].get("message", "")) if errors else ""
    except (ValueError, AttributeError, IndexError):
        return ""


def _registry_error(resp: httpx.Response, what: str) -> str:
    try:
        errors = resp.json().get("errors") or []
        detail = "; ".join(f"{e.get('code', '').lower()}: {e.get('message', '')}" for e in errors)
    except (ValueError, AttributeError):
        detail = ""
    return f"{what}: {resp.status_code} {resp.reason_phrase}" + (f" ({detail})" if detail else "")


class RegistryClient:
    def __init__(self, host: str, creds: Credentials | None = None, insecure: Collection[str] = frozenset(),
                 timeout: float = 30.0):
        self.host = host
        self.api_host = DOCKER_HUB_API if host == "docker.io" else host
        self.creds = creds
        self.insecure = is_insecure(host, set(insecure))
        self._base = ""
        self._base_lock = asyncio.Lock()
        self._tokens: dict[str, str] = {}  # bearer Authorization header by scope set
        self._basic = ""                   # basic Authorization header, once the registry asked for it
        self.http = httpx.AsyncClient(verify=not self.insecure, follow_redirects=True,
                                      timeout=httpx.Timeout(timeout, connect=10.0),
                                      limits=httpx.Limits(max_connections=16))

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> "RegistryClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def base(self) -> str:
        """https://host, or http://host for an insecure registry that does not speak TLS."""
        async with self._base_lock:
            if self._base:
                return self._base
            try:
                await self.http.get(f"https://{self.api_host}/v2/")
                self._base = f"https://{self.api_host}"
            except httpx.HTTPError as e:
                if not self.insecure:
                    if _tls_failed(e) and await self._speaks_plain_http():
                        raise Unreachable(f'Get "https://{self.api_host}/v2/": '
                                          "http: server gave HTTP response to HTTPS client") from None
                    if unresolved := _no_such_host(e, self.api_host):
                        raise Unreachable(f'Get "https://{self.api_host}/v2/": {unresolved}') from None
                    raise Unreachable(f"registry {self.host} unreachable: {e or type(e).__name__}") from None
                self._base = f"http://{self.api_host}"
            return self._base

    async def _speaks_plain_http(self) -> bool:
        """Whether the host answers plain HTTP: why a TLS handshake with it failed, as Go's client tells."""
        try:
            await self.http.get(f"http://{self.api_host}/v2/")
        except httpx.HTTPError:
            return False
        return True

    # ---- requests with auth

    async def _authorize(self, resp: httpx.Response, scopes: list[str]) -> bool:
        """Answer a 401 for `scopes`; False when we cannot do better than the request did."""
        sent = resp.request.headers.get("authorization", "")
        header = resp.headers.get("www-authenticate", "")
        for ch in parse_challenges(header):
            if ch.scheme == "bearer":
                self._tokens[" ".join(scopes)] = "Bearer " + await fetch_token(self.http, ch, scopes, self.creds)
                return True
            if ch.scheme == "basic":
                if not self.creds or not self.creds.username:
                    # Go's url.Error around docker's registry client's words
                    reason = "no basic auth credentials"
                    raise AuthError(f'{resp.request.method.capitalize()} "{resp.request.url}": {reason}', reason)
                # parallel requests all meet the first 401: only one sent with our credentials failed them
                if sent == self.creds.basic_header():
                    return False
                self._basic = self.creds.basic_header()
                return True
        raise AuthError(f"{self.host}: unsupported authentication challenge {header!r}")

    def _headers(self, scopes: list[str], extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(extra or {})
        auth = self._basic or self._tokens.get(" ".join(scopes))
        if auth:
            h["Authorization"] = auth
        return h

    async def request(self, method: str, url: str, scopes: list[str], headers: dict[str, str] | None = None,
                      **kw: Any) -> httpx.Response:
        if url.startswith("/"):
            url = await self.base() + url
        for attempt in range(2):
            try:
                resp = await self.http.request(method, url, headers=self._headers(scopes, headers), **kw)
            except httpx.HTTPError as e:
                raise Unreachable(f"registry {self.host} unreachable: {e or type(e).__name__}") from None
            if resp.status_code != 401:
                return resp
            if attempt or not await self._authorize(resp, scopes):
                break
        if self._tokens.get(" ".join(scopes)):
            raise _Denied(f"{self.host}: authentication failed: unauthorized")
        raise AuthError(f"{self.host}: authentication failed: unauthorized")

    async def stream(self, url: str, scopes: list[str], headers: dict[str, str] | None = None) -> httpx.Response:
        """GET with auth, returning an open streaming response (close it)."""
        if url.startswith("/"):
            url = await self.base() + url
        for attempt in range(2):
            req = self.http.build_request("GET", url, headers=self._headers(scopes, headers))
            try:
                resp = await self.http.send(req, stream=True)
            except httpx.HTTPError as e:
                raise Unreachable(f"registry {self.host} unreachable: {e or type(e).__name__}") from None
            if resp.status_code != 401:
                return resp
            await resp.aclose()
            if attempt or not await self._authorize(resp, scopes):
                break
        raise AuthError(f"{self.host}: authentication failed: unauthorized")

    # ---- API

    async def ping(self) -> None:
        """GET /v2/ with credentials: what `login` checks."""
        resp = await self.request("GET", "/v2/", [])
        if resp.status_code != 200:
            raise RegistryError(_registry_error(resp, f"{self.host}: login"))

    async def get_manifest(self, repo: str, ref: str) -> tuple[bytes, str]:
        """Manifest or index bytes and the media type the registry declared. A token that grants no pull is
        docker's "pull access denied" (a repository that is not there looks the same to a client)."""
        try:
            resp = await self.request("GET", f"/v2/{repo}/manifests/{ref}", [f"repository:{repo}:pull"],
                                      {"Accept": _ACCEPT_MANIFESTS})
        except _Denied:
            raise AuthError(f"pull access denied for {familiar_name(self.host, repo)}, repository does not exist or "
                            "may require 'docker login': denied: requested access to the resource is denied") from None
        if resp.status_code == 404:
            at = "@" if ref.startswith("sha256:") else ":"
            raise NotFound(f"manifest for {familiar_name(self.host, repo)}{at}{ref} not found: manifest unknown: "
                           f"{_registry_message(resp) or 'manifest unknown'}")
        if resp.status_code != 200:
            raise RegistryError(_registry_error(resp, f"{self.host}/{repo}: manifest {ref}"))
        return resp.content, resp.headers.get("content-type", "").split(";")[0].strip()

    async def fetch_blob(self, repo: str, digest: str, writer: BlobWriter,
                         progress: Callable[[int], None] | None = None) -> None:
        resp = await self.stream(f"/v2/{repo}/blobs/{digest}", [f"repository:{repo}:pull"])
        try:
            if resp.status_code == 404:
                raise NotFound(f"blob {digest} not found in {self.host}/{repo}")
            if resp.status_code != 200:
                await resp.aread()
                raise RegistryError(_registry_error(resp, f"{self.host}/{repo}: blob {digest}"))
            async for chunk in resp.aiter_raw(_CHUNK):
                writer.write(chunk)
                if progress:
                    progress(writer.written)
        except httpx.HTTPError as e:
            raise Unreachable(f"registry {self.host}: download of {digest} broke off: {e or type(e).__name__}") from None
        finally:
            await resp.aclose()

    async def has_blob(self, repo: str, digest: str) -> bool:
        resp = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}", [f"repository:{repo}:pull,push"])
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise RegistryError(_registry_error(resp, f"{self.host}/{repo}: blob {digest}"))

    async def push_blob(self, repo: str, digest: str, path: Path, size: int,
                        mount_from: str = "", progress: Callable[[int], None] | None = None) -> bool:
        """Upload a blob; True if the registry mounted it from `mount_from` instead."""
        scopes = [f"repository:{repo}:pull,push"]
        url = f"/v2/{repo}/blobs/uploads/"
        if mount_from:
            scopes.append(f"repository:{mount_from}:pull")
            url += "?" + urllib.parse.urlencode({"mount": digest, "from": mount_from})
        resp = await self.request("POST", url, scopes)
        if resp.status_code == 201:
            return True
        if resp.status_code != 202 or "location" not in resp.headers:
            raise RegistryError(_registry_error(resp, f"{self.host}/{repo}: starting upload of {digest}"))
        location = urllib.parse.urljoin(str(resp.url), resp.headers["location"])
        sep = "&" if "?" in location else "?"

        async def body() -> AsyncIterator[bytes]:
            sent = 0
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    sent += len(chunk)
                    if progress:
                        progress(sent)
                    yield chunk

        resp = await self.request("PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}", scopes,
                                  {"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                                  content=body())
        if resp.status_code not in (201, 204):
            raise RegistryError(_registry_error(resp, f"{self.host}/{repo}: upload of {digest}"))
        return False

    async def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        resp = await self.request("PUT", f"/v2/{repo}/manifests/{ref}", [f"repository:{repo}:pull,push"],
                                  {"Content-Type": media_type}, content=data)
        if resp.status_code not in (201, 202):
            raise RegistryError(_registry_error(resp, f"{self.host}/{repo}: manifest {ref}"))
        digest: str = resp.headers.get("docker-content-digest", "")
        return digest


