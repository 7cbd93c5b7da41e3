"""Regenerate the Python code of every .proto under proto/src (run by `make proto`).

Sources and generated modules sit side by side in the pyrunc_proto package, so
a .proto imports another as "pyrunc_proto/<path>.proto" and the generated code
imports it as pyrunc_proto.<path>_pb2. gRPC stubs (_pb2_grpc) are only made for
our own pyrunc.* APIs; containerd's ttrpc services need message classes only.
"""

import pathlib
import sys

from grpc_tools import protoc

SRC = pathlib.Path(__file__).resolve().parent / "src"


def main():
    files = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.proto"))
    include = str(pathlib.Path(protoc.__file__).parent / "_proto")
    for f in files:
        args = ["protoc", f"-I{SRC}", f"-I{include}", f"--python_out={SRC}", f"--pyi_out={SRC}"]
        if f.startswith("pyrunc_proto/pyrunc/"):
            args.append(f"--grpc_python_out={SRC}")
        if protoc.main(args + [f]) != 0:
            sys.exit(f"protoc failed on {f}")
    for d in {SRC / pathlib.Path(f).parent for f in files}:
        while d != SRC:  # every generated folder must be a package
            (d / "__init__.py").touch()
            d = d.parent
    print(f"generated {len(files)} files")


if __name__ == "__main__":
    main()
