"""Generated protobuf code; regenerate with `make proto`.

wire.py encodes and decodes from the generated plain-dict tables.py without google.protobuf,
for the shim and `pyctl run`; importing this package alone imports nothing else.
"""
