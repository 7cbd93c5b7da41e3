"""images / image ls, inspect, history, tag, rmi, image prune."""

from __future__ import annotations

import argparse
import json
import sys

from .. import output
from ..api import Api, ApiError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyrunc_proto.pyrunc.images.v1.images_pb2 import Image


def _ref_split(name: str) -> tuple[str, str]:
    repo, _, tag = name.rpartition(":")
    if "/" in tag or not repo:
        return name, "<none>"
    return repo, tag


def images(api: Api, args: argparse.Namespace) -> int:
    rows = []
    for img in api.images.ls([args.reference] if args.reference else [], all=args.all):
        digests = {d.split("@")[0]: d.split("@")[1] for d in img.repo_digests}
        names = [_ref_split(t) for t in img.repo_tags] or [("<none>", "<none>")]
        for repo, tag in names:
            rows.append({"ID": output.short_id(img.id) if not args.no_trunc else img.id, "Repository": repo,
                         "Tag": tag, "Digest": digests.get(repo, "<none>"), "CreatedAt": img.created,
                         "CreatedSince": output.since(img.created), "Size": output.human_size(img.size)})
    if args.quiet:
        seen: list[str] = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        sys.stdout.write("".join(i + "\n" for i in seen))
    else:
        digest = ["DIGEST"] if args.digests else []
        output.listing(args.format, rows, ["REPOSITORY", "TAG", *digest, "IMAGE ID", "CREATED", "SIZE"],
                       ["Repository", "Tag", *(["Digest"] if digest else []), "ID", "CreatedSince", "Size"])
    return 0


def inspect_doc(img: Image) -> dict[str, Any]:
    """An image as `docker image inspect` shows it (Any: a JSON document)."""
    config = json.loads(img.config_json) if img.config_json else {}
    doc: dict[str, Any] = {
        "Id": img.id,
        "RepoTags": list(img.repo_tags),
        "RepoDigests": list(img.repo_digests),
        "Parent": img.parent,
        "Comment": next((h.get("comment", "") for h in reversed(config.get("history") or [])
                         if h.get("comment")), ""),
        "Created": img.created,
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": config.get("config") or {},
        "Architecture": img.architecture,
        "Os": img.os,
        "Size": img.size,
        "GraphDriver": {"Name": "overlayfs", "Data": None},
        "RootFS": {"Type": "layers", "Layers": [layer.diff_id for layer in img.layers]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        "Descriptor": {"mediaType": img.manifest_media_type, "digest": img.manifest_digest},
    }
    if img.variant:
        doc["Variant"] = img.variant
    return doc


def inspect(api: Api, args: argparse.Namespace) -> int:
    docs, status = [], 0
    for name in args.names:
        try:
            docs.append(inspect_doc(api.images.get(name)))
        except ApiError as e:
            if e.code != "NOT_FOUND":
                raise
            sys.stderr.write(f"Error: No such image: {name}\n")
            status = 1
    output.inspect_docs(docs, args.format)
    return status


def history(api: Api, args: argparse.Namespace) -> int:
    rows = []
    for h in api.images.history(args.image):
        created_by = h.created_by
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        image = h.id if h.id == "<missing>" or args.no_trunc else output.short_id(h.id)
        if args.quiet:
            sys.stdout.write(image + "\n")
            continue
        rows.append([image, output.since(h.created), created_by,
                     output.human_size(h.size) if args.human else str(h.size), h.comment])
    if not args.quiet:
        output.table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows)
    return 0


def tag(api: Api, args: argparse.Namespace) -> int:
    api.images.tag(args.source, args.target)
    return 0


def rmi(api: Api, args: argparse.Namespace) -> int:
    status = 0
    for name in args.images:
        try:
            resp = api.images.remove(name, force=args.force, no_prune=args.no_prune)
        except ApiError as e:
            sys.stderr.write(f"Error response from daemon: {e.message}\n")
            status = 1
            continue
        for u in resp.untagged:
            sys.stdout.write(f"Untagged: {u}\n")
        for d in resp.deleted:
            sys.stdout.write(f"Deleted: {d}\n")
    return status


def prune(api: Api, args: argparse.Namespace) -> int:
    what = "all images without at least one container associated to them" if args.all else "all dangling images"
    if not args.force and not output.confirm(f"This will remove {what}."):
        return 0
    resp = api.images.prune(all=args.all)
    if resp.untagged or resp.deleted:
        sys.stdout.write("Deleted Images:\n")
        for u in resp.untagged:
            sys.stdout.write(f"untagged: {u}\n")
        for d in resp.deleted:
            sys.stdout.write(f"deleted: {d}\n")
        sys.stdout.write("\n")
    sys.stdout.write(f"Total reclaimed space: {output.human_size(resp.space_reclaimed)}\n")
    return 0


def add_ls(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", nargs="?", help="only images of this repository[:tag]")
    p.add_argument("-a", "--all", action="store_true", help="show all images (default hides intermediate images)")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("--digests", action="store_true", help="show digests")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--format", default="", help="json: one JSON object per line")
    p.set_defaults(func=images)


def add_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="IMAGE")
    p.add_argument("-f", "--format", default="", help="a {{.Field}} template")
    p.set_defaults(func=inspect)


def add_history(p: argparse.ArgumentParser) -> None:
    p.add_argument("image")
    p.add_argument("-H", "--human", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=history)


def add_tag(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    p.add_argument("target", metavar="TARGET_IMAGE[:TAG]")
    p.set_defaults(func=tag)


def add_rmi(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-f", "--force", action="store_true", help="force removal of the image")
    p.add_argument("--no-prune", action="store_true", help="do not delete untagged parents")
    p.set_defaults(func=rmi)


def add_prune(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=prune)
