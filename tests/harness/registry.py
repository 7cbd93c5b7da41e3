"""A private Docker registry (Debian's docker-registry) for tests, on 127.0.0.1 and a free port.

Usage:
    with Registry() as reg:                       # anonymous
        reg.host                                  # "127.0.0.1:PORT"
    with Registry(users={"alice": "secret"}) as reg:   # htpasswd basic auth (needs python bcrypt)
    with Registry(users={"alice": "secret"}, token=True) as reg:   # bearer tokens from a token server

The token server is ours (TokenServer below): it checks basic credentials and signs RS256 JWTs
with a throwaway self-signed key (made by openssl), which the registry trusts as its root.
Storage, config and log live in a temp dir removed by stop(); the processes are stopped at stop().
"""

import base64
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def available(users: bool = False, token: bool = False) -> str:
    """Why this registry cannot run here, or "" if it can."""
    if not os.access(REGISTRY, os.X_OK):
        return "docker-registry is not installed"
    if token and not shutil.which("openssl"):
        return "openssl is not installed (needed to sign tokens)"
    if users:
        try:
            _bcrypt("probe")
        except (ImportError, ValueError, OSError):
            return "no bcrypt: neither python bcrypt nor a crypt module with blowfish (for htpasswd entries)"
    return ""


def _bcrypt(password: str) -> str:
    """An htpasswd bcrypt hash: python bcrypt if installed, else the C library's crypt (libxcrypt)."""
    try:
        import bcrypt

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # until Python 3.13

    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    if not hashed or not hashed.startswith("$2"):
        raise ValueError("crypt has no blowfish here")
    return hashed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A docker token server: GET /token?service=S&scope=repository:NAME:ACTIONS with basic credentials
    (anonymous requests get tokens without access), answering {"token": JWT}."""

    ISSUER = "pyrunc-test-issuer"
    SERVICE = "pyrunc-test-registry"

    def __init__(self, workdir: Path, users: dict[str, str]):
        self.dir = workdir
        self.users = users
        self.key = workdir / "token.key"
        self.cert = workdir / "token.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-days", "2", "-subj", "/CN=pyrunc-test-token"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server._answer(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, h: http.server.BaseHTTPRequestHandler) -> None:
        q = urllib.parse.parse_qs(urllib.parse.urlparse(h.path).query)
        user = ""
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(user) != pw:
                h.send_response(401)
                h.end_headers()
                return
        self.requests.append({"user": user, "scope": q.get("scope", [])})
        access = []
        for scope in q.get("scope", []):
            kind, name, actions = scope.split(":") if scope.count(":") == 2 else ("", "", "")
            if user and kind == "repository":
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        body = json.dumps({"token": self._jwt(user, access)}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _jwt(self, user: str, access: list[dict]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.ISSUER, "sub": user, "aud": self.SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": f"{now}-{len(self.requests)}", "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing_input.encode(),
                             check=True, capture_output=True).stdout
        return f"{signing_input}.{_b64url(sig)}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Registry:
    def __init__(self, users: dict[str, str] | None = None, token: bool = False):
        self.dir = Path(tempfile.mkdtemp(prefix="registry-", dir="/tmp"))
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.users = users or {}
        self.log = self.dir / "registry.log"
        self.proc: subprocess.Popen | None = None
        self.token: TokenServer | None = None
        config = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.dir / 'storage'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
            f"  secret: test-{os.getpid()}",
        ]
        if token:
            self.token = TokenServer(self.dir, self.users)
            config += ["auth:", "  token:", f"    realm: {self.token.realm}", f"    service: {TokenServer.SERVICE}",
                       f"    issuer: {TokenServer.ISSUER}", f"    rootcertbundle: {self.token.cert}"]
        elif self.users:
            lines = [f"{u}:{_bcrypt(p)}" for u, p in self.users.items()]
            (self.dir / "htpasswd").write_text("\n".join(lines) + "\n")
            config += ["auth:", "  htpasswd:", "    realm: pyrunc-test", f"    path: {self.dir / 'htpasswd'}"]
        self.config = self.dir / "config.yml"
        self.config.write_text("\n".join(config) + "\n")

    def start(self) -> "Registry":
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([REGISTRY, "serve", str(self.config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # 401 with auth: it is up
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer within 15 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self.token is not None:
            self.token.stop()
            self.token = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Registry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
