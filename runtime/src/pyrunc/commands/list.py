"""`pyrunc list`: every container under --root, as runc's table, JSON or ids."""

import os
import sys

from .. import jsonio
from ..container import Container, list_ids
from ..errors import NotExistError, UsageError


def _owner(path):
    import pwd

    uid = os.stat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def list_containers(ctx, args, format=None, quiet=False):
    fmt = format or "table"
    if fmt not in ("table", "json"):
        raise UsageError(f'invalid format option "{fmt}": expected table or json')
    states = []
    for cid in list_ids(ctx.root):
        try:
            c = Container.load(ctx.root, cid, lock=False)
        except NotExistError:
            continue  # deleted while we looked
        st = c.oci_state()
        st["owner"] = _owner(c.dir)
        states.append(st)
    if quiet:
        sys.stdout.write("".join(s["id"] + "\n" for s in states))
    elif fmt == "json":
        sys.stdout.write(jsonio.dumps(states or None, compact=True) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"]) for s in states]
        sys.stdout.write(format_table(rows))


def format_table(rows, minwidth=12, padding=3):
    """Go's tabwriter as runc configures it: cells padded to max(minwidth, widest + padding)."""
    widths = [max(minwidth, max(len(r[i]) for r in rows) + padding) for i in range(len(rows[0]) - 1)]
    return "".join("".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + r[-1] + "\n" for r in rows)
