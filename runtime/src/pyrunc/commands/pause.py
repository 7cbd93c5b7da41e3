"""`pyrunc pause` / `pyrunc resume`: freeze and thaw every process of the container."""

from ..container import Container


def pause(ctx, args):
    c = Container.load(ctx.root, args[0])
    try:
        c.require("pause")
        c.cgroup().freeze()
    finally:
        c.unlock()


def resume(ctx, args):
    c = Container.load(ctx.root, args[0])
    try:
        c.require("resume")
        c.cgroup().thaw()
    finally:
        c.unlock()
