from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("images", "containers", "containers_running", "containers_paused", "containers_stopped", "server_version", "storage_driver", "root_dir", "default_runtime", "runtimes", "kernel_version", "operating_system", "os_type", "architecture", "ncpu", "mem_total", "name", "cgroup_version", "insecure_registries", "default_network")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_PAUSED_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_STOPPED_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    STORAGE_DRIVER_FIELD_NUMBER: _ClassVar[int]
    ROOT_DIR_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RUNTIME_FIELD_NUMBER: _ClassVar[int]
    RUNTIMES_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OPERATING_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    OS_TYPE_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    NCPU_FIELD_NUMBER: _ClassVar[int]
    MEM_TOTAL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CGROUP_VERSION_FIELD_NUMBER: _ClassVar[int]
    INSECURE_REGISTRIES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_NETWORK_FIELD_NUMBER: _ClassVar[int]
    images: int
    containers: int
    containers_running: int
    containers_paused: int
    containers_stopped: int
    server_version: str
    storage_driver: str
    root_dir: str
    default_runtime: str
    runtimes: _containers.RepeatedScalarFieldContainer[str]
    kernel_version: str
    operating_system: str
    os_type: str
    architecture: str
    ncpu: int
    mem_total: int
    name: str
    cgroup_version: str
    insecure_registries: _containers.RepeatedScalarFieldContainer[str]
    default_network: str
    def __init__(self, images: _Optional[int] = ..., containers: _Optional[int] = ..., containers_running: _Optional[int] = ..., containers_paused: _Optional[int] = ..., containers_stopped: _Optional[int] = ..., server_version: _Optional[str] = ..., storage_driver: _Optional[str] = ..., root_dir: _Optional[str] = ..., default_runtime: _Optional[str] = ..., runtimes: _Optional[_Iterable[str]] = ..., kernel_version: _Optional[str] = ..., operating_system: _Optional[str] = ..., os_type: _Optional[str] = ..., architecture: _Optional[str] = ..., ncpu: _Optional[int] = ..., mem_total: _Optional[int] = ..., name: _Optional[str] = ..., cgroup_version: _Optional[str] = ..., insecure_registries: _Optional[_Iterable[str]] = ..., default_network: _Optional[str] = ...) -> None: ...

class VersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VersionResponse(_message.Message):
    __slots__ = ("version", "api_version", "python_version", "os", "arch", "kernel_version", "git_commit")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    GIT_COMMIT_FIELD_NUMBER: _ClassVar[int]
    version: str
    api_version: str
    python_version: str
    os: str
    arch: str
    kernel_version: str
    git_commit: str
    def __init__(self, version: _Optional[str] = ..., api_version: _Optional[str] = ..., python_version: _Optional[str] = ..., os: _Optional[str] = ..., arch: _Optional[str] = ..., kernel_version: _Optional[str] = ..., git_commit: _Optional[str] = ...) -> None: ...

class DiskUsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ImageUsage(_message.Message):
    __slots__ = ("id", "repo_tags", "created", "size", "shared_size", "containers")
    ID_FIELD_NUMBER: _ClassVar[int]
    REPO_TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHARED_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    repo_tags: _containers.RepeatedScalarFieldContainer[str]
    created: str
    size: int
    shared_size: int
    containers: int
    def __init__(self, id: _Optional[str] = ..., repo_tags: _Optional[_Iterable[str]] = ..., created: _Optional[str] = ..., size: _Optional[int] = ..., shared_size: _Optional[int] = ..., containers: _Optional[int] = ...) -> None: ...

class ContainerUsage(_message.Message):
    __slots__ = ("id", "image", "command", "local_volumes", "size", "created", "status", "name", "started_at", "finished_at", "exit_code")
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    LOCAL_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    image: str
    command: str
    local_volumes: int
    size: int
    created: str
    status: str
    name: str
    started_at: str
    finished_at: str
    exit_code: int
    def __init__(self, id: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[str] = ..., local_volumes: _Optional[int] = ..., size: _Optional[int] = ..., created: _Optional[str] = ..., status: _Optional[str] = ..., name: _Optional[str] = ..., started_at: _Optional[str] = ..., finished_at: _Optional[str] = ..., exit_code: _Optional[int] = ...) -> None: ...

class VolumeUsage(_message.Message):
    __slots__ = ("name", "links", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    links: int
    size: int
    def __init__(self, name: _Optional[str] = ..., links: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class BuildCacheUsage(_message.Message):
    __slots__ = ("id", "image_id", "size", "created", "shared", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    image_id: str
    size: int
    created: str
    shared: bool
    description: str
    def __init__(self, id: _Optional[str] = ..., image_id: _Optional[str] = ..., size: _Optional[int] = ..., created: _Optional[str] = ..., shared: _Optional[bool] = ..., description: _Optional[str] = ...) -> None: ...

class DiskUsageResponse(_message.Message):
    __slots__ = ("layers_size", "images", "containers", "volumes", "build_cache")
    LAYERS_SIZE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    BUILD_CACHE_FIELD_NUMBER: _ClassVar[int]
    layers_size: int
    images: _containers.RepeatedCompositeFieldContainer[ImageUsage]
    containers: _containers.RepeatedCompositeFieldContainer[ContainerUsage]
    volumes: _containers.RepeatedCompositeFieldContainer[VolumeUsage]
    build_cache: _containers.RepeatedCompositeFieldContainer[BuildCacheUsage]
    def __init__(self, layers_size: _Optional[int] = ..., images: _Optional[_Iterable[_Union[ImageUsage, _Mapping]]] = ..., containers: _Optional[_Iterable[_Union[ContainerUsage, _Mapping]]] = ..., volumes: _Optional[_Iterable[_Union[VolumeUsage, _Mapping]]] = ..., build_cache: _Optional[_Iterable[_Union[BuildCacheUsage, _Mapping]]] = ...) -> None: ...
