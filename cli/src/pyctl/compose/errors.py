"""The one error of the compose model: one line naming the file's path, shown as is by main."""

from ..errors import CLIError


class ComposeError(CLIError):
    """A wrong compose file or option: `where` is the key path (services.web.ports[0]) when one is known."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
