"""containerd's ttrpc: protobuf messages in 10-byte-header frames on a unix socket.

Its own distribution, as containerd/ttrpc is its own Go module: the shim serves the Task API with
server.py and publishes events with client.py; pyruncd drives the shims with client.py (or aio.py)
and takes their events with frames.py. Stdlib only: the messages go through pyrunc_proto.wire.
"""
