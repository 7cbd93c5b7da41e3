"""`pyrunc spec`: write a template config.json into the bundle."""

import json
import os

from ..default_spec import default_spec
from ..errors import PyruncError


def spec(ctx, args, bundle=None, rootless=False):
    path = os.path.join(bundle or ".", "config.json")
    if os.path.exists(path):
        raise PyruncError("File config.json exists. Remove it first")
    with open(path, "x") as f:
        json.dump(default_spec(rootless=rootless), f, indent="\t")

