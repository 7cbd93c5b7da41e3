"""Volumes and container mounts: named and anonymous volumes, binds, tmpfs."""
