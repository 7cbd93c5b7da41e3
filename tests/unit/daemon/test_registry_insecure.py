"""Which registries pyruncd reaches without TLS, and docker's words for one that answers HTTPS in
plain HTTP (issue 15 item 6)."""

import asyncio
import http.server
import threading

import pytest
from pyruncd.errors import Unreachable
from pyruncd.registry.client import RegistryClient, is_insecure


def test_insecure_cidrs_as_dockerd_takes_them():
    assert is_insecure("10.1.2.3:5000", {"10.0.0.0/8"})
    assert is_insecure("[fd00::5]:5000", {"fd00::/64"})
    assert not is_insecure("11.1.2.3:5000", {"10.0.0.0/8"})
    assert not is_insecure("registry.example:5000", {"10.0.0.0/8"})  # names are not looked up
    assert not is_insecure("10.1.2.3:5000", {"not-a-cidr/8"})


@pytest.fixture
def plain_http():
    """An HTTP server on 127.0.0.1 that answers every GET: a registry without TLS."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def _base(host: str, insecure: set[str]) -> str:
    async with RegistryClient(host, None, insecure) as reg:
        # loopback is insecure by default, as docker's 127.0.0.0/8: here the test wants it secure
        reg.insecure = False
        return await reg.base()


def test_plain_http_answer_to_https_is_refused_in_dockers_words(plain_http):
    with pytest.raises(Unreachable) as e:
        asyncio.run(_base(plain_http, set()))
    assert str(e.value) == f'Get "https://{plain_http}/v2/": http: server gave HTTP response to HTTPS client'


def test_nothing_listening_is_unreachable_as_before():
    with pytest.raises(Unreachable, match="registry 127.0.0.1:1 unreachable"):
        asyncio.run(_base("127.0.0.1:1", set()))
