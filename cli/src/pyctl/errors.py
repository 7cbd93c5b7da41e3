"""The CLI's own error: a message for the user, shown as is, and the exit status."""


class CLIError(Exception):
    """Shown to the user as is; exit status 1 (or `status`)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status
