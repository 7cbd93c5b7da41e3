"""The one error of pyctl's API: a failed call, whichever transport carried it."""


class ApiError(Exception):
    """The daemon's answer to a failed call: a gRPC status name (`code`: "NOT_FOUND", "UNAVAILABLE"...)
    and its message, as the daemon wrote it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def cannot_connect(self) -> bool:
        """No daemon on the socket (both transports word it so), as opposed to an error it answered."""
        return self.code == "UNAVAILABLE" and ("failed to connect" in self.message or "connect failed" in self.message)
