"""WWW-Authenticate parsing and the bearer token flow (protocol logic over httpx's mock transport)."""

import asyncio
import base64

import httpx
from pyruncd.registry.auth import Challenge, fetch_token, parse_challenges
from pyruncd.registry.client import RegistryClient, is_insecure
from pyruncd.registry.credentials import Credentials


def test_bearer_challenge():
    h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'
    assert parse_challenges(h) == [Challenge("bearer", {
        "realm": "https://auth.docker.io/token", "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull"})]


def test_basic_and_quoting():
    assert parse_challenges('Basic realm="pyrunc-test"') == [Challenge("basic", {"realm": "pyrunc-test"})]
    got = parse_challenges(r'Bearer realm="a\"b", error="invalid_token" , Basic realm=x')
    assert got == [Challenge("bearer", {"realm": 'a"b', "error": "invalid_token"}), Challenge("basic", {"realm": "x"})]
    assert parse_challenges("") == []


def test_scope_with_commas_stays_whole():
    got = parse_challenges('Bearer realm="r",scope="repository:a:pull,push repository:b:pull"')
    assert got[0].params["scope"] == "repository:a:pull,push repository:b:pull"


def test_insecure_hosts():
    assert is_insecure("127.0.0.1:5000", set())
    assert is_insecure("127.9.9.9", set())
    assert is_insecure("localhost:5000", set())
    assert is_insecure("[::1]:5000", set())
    assert not is_insecure("registry.example:5000", set())
    assert is_insecure("registry.example:5000", {"registry.example:5000"})


def _token_registry(expect_basic: str | None):
    """A registry that wants a bearer token, and its token server, as one mock transport."""
    seen = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        if req.url.path == "/token":
            if expect_basic and req.headers.get("authorization") != expect_basic:
                return httpx.Response(401)
            assert req.url.params.get("service") == "reg"
            assert req.url.params.get_list("scope") == ["repository:lib/app:pull"]
            return httpx.Response(200, json={"token": "T0K"})
        if req.headers.get("authorization") != "Bearer T0K":
            return httpx.Response(401, headers={"www-authenticate":
                                                'Bearer realm="https://auth.test/token",service="reg"'})
        return httpx.Response(200, content=b"{}", headers={"content-type": "application/json"})
    return handler, seen


def _client(handler, creds=None) -> RegistryClient:
    c = RegistryClient("reg.test", creds)
    c.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    c._base = "https://reg.test"
    return c


def test_token_flow_anonymous():
    handler, seen = _token_registry(None)

    async def run():
        async with _client(handler) as c:
            data, _ = await c.get_manifest("lib/app", "latest")
            assert data == b"{}"
            await c.get_manifest("lib/app", "v2")  # the token is reused for the same scope
    asyncio.run(run())
    assert [r.url.path for r in seen] == ["/v2/lib/app/manifests/latest", "/token",
                                         "/v2/lib/app/manifests/latest", "/v2/lib/app/manifests/v2"]


def test_token_flow_sends_credentials_to_the_realm():
    creds = Credentials("alice", "pw")
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()
    handler, seen = _token_registry(basic)

    async def run():
        async with _client(handler, creds) as c:
            await c.get_manifest("lib/app", "latest")
    asyncio.run(run())
    assert seen[1].headers["authorization"] == basic


def test_token_server_refusal_is_an_auth_error():
    handler, _ = _token_registry("Basic nope")

    async def run():
        async with _client(handler, Credentials("alice", "wrong")) as c:
            await c.get_manifest("lib/app", "latest")
    try:
        asyncio.run(run())
    except Exception as e:
        assert type(e).__name__ == "AuthError"
        assert "refused the credentials" in str(e)
    else:
        raise AssertionError("no error")


def test_fetch_token_with_refresh_token_posts_oauth2():
    got = {}

    def handler(req):
        got["method"] = req.method
        got["body"] = req.content.decode()
        return httpx.Response(200, json={"access_token": "A"})

    async def run():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await fetch_token(http, Challenge("bearer", {"realm": "https://a/t", "service": "s"}),
                                     ["repository:x:pull"], Credentials("u", "", "REFRESH"))
    assert asyncio.run(run()) == "A"
    assert got["method"] == "POST"
    assert "grant_type=refresh_token" in got["body"] and "refresh_token=REFRESH" in got["body"]
