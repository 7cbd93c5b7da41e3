"""OCI distribution client: auth challenges, manifests and blobs over HTTP."""
