"""pyctl compose: the Compose Specification's model (load, interpolate, merge, extends, include, profiles,
validate), its mapping onto the API's ContainerConfig, and the plan that brings a project to it.

Imported only by `pyctl compose` (PyYAML with it): nothing here loads on any other command."""
