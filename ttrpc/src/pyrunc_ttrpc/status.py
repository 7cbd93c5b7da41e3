"""gRPC status codes as ttrpc carries them; containerd maps them to its errdefs."""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from typing import ClassVar

_NAMES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
          "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
          "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")


class Code(int):
    """A status code: an int with its name, as IntEnum members are (Code(5) is Code.NOT_FOUND, whose
    .name is "NOT_FOUND"), without importing enum: ~3 ms of the shim's way to its first answer."""

    __slots__ = ()
    OK: "ClassVar[Code]"
    CANCELLED: "ClassVar[Code]"
    UNKNOWN: "ClassVar[Code]"
    INVALID_ARGUMENT: "ClassVar[Code]"
    DEADLINE_EXCEEDED: "ClassVar[Code]"
    NOT_FOUND: "ClassVar[Code]"
    ALREADY_EXISTS: "ClassVar[Code]"
    PERMISSION_DENIED: "ClassVar[Code]"
    RESOURCE_EXHAUSTED: "ClassVar[Code]"
    FAILED_PRECONDITION: "ClassVar[Code]"
    ABORTED: "ClassVar[Code]"
    OUT_OF_RANGE: "ClassVar[Code]"
    UNIMPLEMENTED: "ClassVar[Code]"
    INTERNAL: "ClassVar[Code]"
    UNAVAILABLE: "ClassVar[Code]"
    DATA_LOSS: "ClassVar[Code]"
    UNAUTHENTICATED: "ClassVar[Code]"

    def __new__(cls, value: int) -> "Code":
        """The member of that value; ValueError for a value that is none, as Enum(value) says."""
        if not isinstance(value, int) or not 0 <= value < len(_MEMBERS):
            raise ValueError(f"{value!r} is not a valid Code")
        return _MEMBERS[value]

    @property
    def name(self) -> str:
        return _NAMES[self]

    def __repr__(self) -> str:
        return f"<Code.{self.name}: {int(self)}>"

    __str__ = int.__repr__  # IntEnum's str() and format() are the number's


_MEMBERS = tuple(int.__new__(Code, value) for value in range(len(_NAMES)))
for _member in _MEMBERS:
    setattr(Code, _member.name, _member)


class TtrpcError(Exception):
    """An RPC failure with the status code the peer sees."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
