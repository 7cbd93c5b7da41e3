"""containerd-shim-pyrunc-v2: containerd's shim v2 for any runc-compatible runtime."""

__version__ = "0.1.0"
