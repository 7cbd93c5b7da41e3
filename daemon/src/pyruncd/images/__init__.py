"""Image records, formats (docker-archive, OCI layout), pull and push."""
