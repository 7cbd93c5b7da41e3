"""gRPC servicers: thin adapters from protos to the library code."""
