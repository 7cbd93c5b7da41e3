"""ttrpc, containerd's lightweight RPC: protobuf messages in 10-byte-header frames on a unix socket."""
