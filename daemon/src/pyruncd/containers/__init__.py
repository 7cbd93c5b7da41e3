"""Containers: records, OCI bundles from image configs, one shim per running container, logs."""
