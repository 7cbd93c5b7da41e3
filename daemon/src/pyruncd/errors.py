"""The daemon's error kinds; the gRPC layer maps each to one status code."""


class PyruncdError(Exception):
    """Base of every error a client may see; the message is shown to the user as is."""


class NotFound(PyruncdError):
    pass


class InvalidArgument(PyruncdError):
    pass


class Conflict(PyruncdError):
    """The request clashes with current state (tag in use, image used by a container)."""


class DigestMismatch(PyruncdError):
    """Content does not hash to the digest it was announced with."""


class UnsafeLayer(PyruncdError):
    """A layer tar tries to write outside its directory or holds what we never extract."""


class RegistryError(PyruncdError):
    """The registry answered with an error or could not be reached."""


class Unreachable(RegistryError):
    pass


class AuthError(RegistryError):
    """The registry refused our credentials, or asked for some and we had none. `reason` is the
    message without the request it failed (docker's push shows only that)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message
