"""Registry authentication: WWW-Authenticate challenges (RFC 7235), basic auth and bearer tokens.

The token flow is docker's: a 401 names a realm, service and scope; we ask the realm for a
token, with basic credentials when we have them (or a refresh token as OAuth2), and retry.
"""

import re
from dataclasses import dataclass, field

import httpx

from ..errors import AuthError, Unreachable
from .credentials import Credentials


@dataclass(frozen=True)
class Challenge:
    scheme: str                      # lowercase: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*({_TOKEN})\s*=\s*({_QUOTED}|{_TOKEN})\s*(?:,|$)")
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


def parse_challenges(header: str) -> list[Challenge]:
    """All challenges of one WWW-Authenticate value, e.g. `Bearer realm="...",service="..."`."""
    out: list[Challenge] = []
    pos = 0
    header = header.strip()
    while pos < len(header):
        if header[pos] in ", ":
            pos += 1
            continue
        m = _SCHEME.match(header, pos)
        if not m:
            break
        scheme = m.group(1).lower()
        pos = m.end()
        params: dict[str, str] = {}
        while pos < len(header):
            pm = _PARAM.match(header, pos)
            if not pm:
                break
            value = pm.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[pm.group(1).lower()] = value
            pos = pm.end()
        out.append(Challenge(scheme, params))
    return out


async def fetch_token(http: httpx.AsyncClient, challenge: Challenge, scopes: list[str],
                      creds: Credentials | None) -> str:
    """Ask the challenge's realm for a bearer token covering `scopes`."""
    realm = challenge.params.get("realm")
    if not realm:
        raise AuthError("registry's bearer challenge names no realm")
    service = challenge.params.get("service", "")
    wanted = scopes or ([challenge.params["scope"]] if "scope" in challenge.params else [])
    try:
        if creds and creds.identity_token:
            data = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                    "service": service, "client_id": "pyctl", "scope": " ".join(wanted)}
            resp = await http.post(realm, data=data)
        else:
            # httpx's parameter values may be any scalar; ours are strings
            params: list[tuple[str, str | int | float | bool | None]] = [("service", service)] if service else []
            params += [("scope", s) for s in wanted]
            headers = {"Authorization": creds.basic_header()} if creds and creds.username else {}
            resp = await http.get(realm, params=params, headers=headers)
    except httpx.HTTPError as e:
        raise Unreachable(f"token server {realm} unreachable: {e}") from None
    if resp.status_code in (401, 403):
        raise AuthError(f"token server {realm} refused the credentials: {resp.status_code}")
    if resp.status_code != 200:
        raise AuthError(f"token server {realm} answered {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        raise AuthError(f"token server {realm} sent no JSON") from None
    token: str = body.get("token") or body.get("access_token")
    if not token:
        raise AuthError(f"token server {realm} sent no token")
    return token
