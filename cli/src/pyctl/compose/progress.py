"""docker compose v2's plain progress lines, on stderr: ` Container app-web-1  Started`."""

import sys


def event(kind: str, name: str, status: str) -> None:
    sys.stderr.write(f" {kind} {name}  {status}\n" if name else f" {kind} {status}\n")
    sys.stderr.flush()
