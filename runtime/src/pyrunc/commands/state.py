"""`pyrunc state`: the runtime-spec state of one container, as runc prints it."""

import sys

from .. import jsonio
from ..container import Container


def state(ctx, args):
    c = Container.load(ctx.root, args[0], lock=False)
    sys.stdout.write(jsonio.dumps(c.oci_state(), indent=2))
