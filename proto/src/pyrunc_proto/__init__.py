"""Generated protobuf code; regenerate with `make proto`.

wire.py encodes and decodes without google.protobuf, from the plain-dict tables `make proto`
writes in containerd/tables.py (the shim's) and pyrunc/tables.py (`pyctl run`'s); importing this
package alone imports nothing else.
"""
