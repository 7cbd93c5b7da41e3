"""The system service, over grpcio (its messages have no wire tables). Imported when first used."""

from pyrunc_proto.pyrunc.system.v1 import system_pb2 as pb

from .connection import Connection
from .grpcio import unary

_SERVICE = "/pyrunc.system.v1.System/"


class SystemApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def info(self) -> pb.InfoResponse:
        return unary(self._connection.grpc(), _SERVICE + "Info", pb.InfoRequest(), pb.InfoResponse)

    def info_json(self) -> str:
        """info() as one line of JSON, every field present (protobuf's JSON mapping: camelCase names)."""
        from google.protobuf import json_format

        return json_format.MessageToJson(self.info(), always_print_fields_with_no_presence=True, indent=None)

    def version(self) -> pb.VersionResponse:
        return unary(self._connection.grpc(), _SERVICE + "Version", pb.VersionRequest(), pb.VersionResponse)

    def disk_usage(self) -> pb.DiskUsageResponse:
        return unary(self._connection.grpc(), _SERVICE + "DiskUsage", pb.DiskUsageRequest(), pb.DiskUsageResponse)
