"""Rewrite pip's console scripts of the short-lived programs to start Python with -I -S.

    .venv/bin/python tools/fast_entry_points.py .venv/bin pyrunc containerd-shim-pyrunc-v2 pyctl

pyrunc runs once per runtime operation and the shim's `start` and `delete` once per task, so
Python's start-up is a large part of what they cost. `site` (reading pyvenv.cfg and every .pth
file of the venv, importing what a .pth names) is ~2 ms of each start here: the rewritten
script runs the interpreter with -I -S and puts on sys.path what `site` would have added, as it
stands when this runs (the venv's site-packages and the editable installs' source trees). -I
also keeps PYTHON* variables of the caller (containerd, dockerd, a test) out of the runtime.

Idempotent; `pip install` writes plain scripts again, which work as before (only slower), and
`make venv` runs this after it.
"""

import ast
import subprocess
import sys
from pathlib import Path

FLAGS = "-IS"
MARK = "# sys.path as site would set it"


def site_paths(python: str) -> list[str]:
    """What `site` adds to sys.path for this interpreter: its path with site minus its path without."""
    def path(*flags: str) -> list[str]:
        out = subprocess.run([python, *flags, "-c", "import sys; print(repr(sys.path))"], check=True,
                             capture_output=True, text=True).stdout
        return [p for p in ast.literal_eval(out) if p]

    bare = set(path("-I", "-S"))
    return [p for p in path("-I") if p not in bare]


def rewrite(script: Path, paths: list[str]) -> bool:
    """True if the script was rewritten (False: already done, or not a pip script of ours)."""
    lines = script.read_text().splitlines(keepends=True)
    # pip's plain form only: `#!/path/python`, no arguments yet (pip writes a /bin/sh trampoline for long paths)
    shebang = lines[0].strip() if lines else ""
    if (not shebang.startswith("#!") or " " in shebang or not Path(shebang[2:]).name.startswith("python")
            or "import sys\n" not in lines):
        return False
    lines[0] = f"{lines[0].rstrip()} {FLAGS}\n"
    at = lines.index("import sys\n") + 1
    lines.insert(at, f"sys.path += {paths!r}  {MARK} (-S skips it)\n")
    tmp = script.with_name(f".{script.name}.tmp")
    tmp.write_text("".join(lines))
    tmp.chmod(script.stat().st_mode)
    tmp.replace(script)
    return True


def main() -> int:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bin_dir = Path(sys.argv[1])
    paths = site_paths(str(bin_dir / "python3"))
    for name in sys.argv[2:]:
        script = bin_dir / name
        if rewrite(script, paths):
            print(f"{script}: python {FLAGS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
