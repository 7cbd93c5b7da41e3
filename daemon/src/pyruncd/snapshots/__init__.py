"""Layer snapshots: the store of unpacked layers (store.py) and the layer tar applier (unpack.py)."""
