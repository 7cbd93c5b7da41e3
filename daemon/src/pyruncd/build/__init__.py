"""docker build's front end: Dockerfile parsing, variable substitution, stages, .dockerignore and the
build context. Pure library code: nothing here runs a container or touches the daemon's stores."""
