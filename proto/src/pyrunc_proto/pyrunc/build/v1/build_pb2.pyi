from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BuildOptions(_message.Message):
    __slots__ = ("tags", "dockerfile", "dockerfile_content", "build_args", "target", "no_cache", "pull", "network", "labels", "secrets", "platform")
    class BuildArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DOCKERFILE_FIELD_NUMBER: _ClassVar[int]
    DOCKERFILE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    BUILD_ARGS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    PULL_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    dockerfile: str
    dockerfile_content: bytes
    build_args: _containers.ScalarMap[str, str]
    target: str
    no_cache: bool
    pull: bool
    network: str
    labels: _containers.ScalarMap[str, str]
    secrets: _containers.ScalarMap[str, bytes]
    platform: str
    def __init__(self, tags: _Optional[_Iterable[str]] = ..., dockerfile: _Optional[str] = ..., dockerfile_content: _Optional[bytes] = ..., build_args: _Optional[_Mapping[str, str]] = ..., target: _Optional[str] = ..., no_cache: _Optional[bool] = ..., pull: _Optional[bool] = ..., network: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., secrets: _Optional[_Mapping[str, bytes]] = ..., platform: _Optional[str] = ...) -> None: ...

class BuildRequest(_message.Message):
    __slots__ = ("options", "context")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    options: BuildOptions
    context: bytes
    def __init__(self, options: _Optional[_Union[BuildOptions, _Mapping]] = ..., context: _Optional[bytes] = ...) -> None: ...

class BuildProgress(_message.Message):
    __slots__ = ("step", "status", "output", "warning", "image_id", "tagged", "failure", "alive")
    STEP_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TAGGED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    step: str
    status: str
    output: bytes
    warning: str
    image_id: str
    tagged: str
    failure: Failure
    alive: float
    def __init__(self, step: _Optional[str] = ..., status: _Optional[str] = ..., output: _Optional[bytes] = ..., warning: _Optional[str] = ..., image_id: _Optional[str] = ..., tagged: _Optional[str] = ..., failure: _Optional[_Union[Failure, _Mapping]] = ..., alive: _Optional[float] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("message", "code")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    message: str
    code: int
    def __init__(self, message: _Optional[str] = ..., code: _Optional[int] = ...) -> None: ...

class PruneRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PruneResponse(_message.Message):
    __slots__ = ("entries", "deleted", "space_reclaimed")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    SPACE_RECLAIMED_FIELD_NUMBER: _ClassVar[int]
    entries: int
    deleted: _containers.RepeatedScalarFieldContainer[str]
    space_reclaimed: int
    def __init__(self, entries: _Optional[int] = ..., deleted: _Optional[_Iterable[str]] = ..., space_reclaimed: _Optional[int] = ...) -> None: ...
