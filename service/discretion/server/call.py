"""A call the servicer answers that did not come through gRPC: from the HTTP face, or from the in-process engine.

The servicer's methods take a gRPC context and read little of it: the
metadata, the client certificate gRPC verified, the time left, and abort to
answer a status. `PlainCall` gives them that from headers and a certificate;
its abort raises `Refusal`, holding the google.rpc.Status a gRPC caller would
have received (with its BadRequest details), for the caller to turn into an
HTTP answer or a client's own error.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

__all__ = ["CODES", "PlainCall", "Refusal", "refusal"]

_PEM = "x509_pem_cert"  # what gRPC's auth context calls the client certificate (auth._PEM)


class Refusal(Exception):
    """A call answered with a status other than OK: its google.rpc.Status."""

    def __init__(self, status: status_pb2.Status):
        super().__init__(status.message)
        self.status = status

    @property
    def code(self) -> grpc.StatusCode:
        return CODES.get(self.status.code, grpc.StatusCode.UNKNOWN)


CODES = {code.value[0]: code for code in grpc.StatusCode}


def refusal(code: grpc.StatusCode, message: str, violations: list[tuple[str, str]] = ()) -> Refusal:
    status = status_pb2.Status(code=code.value[0], message=message)
    if violations:
        bad = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
            for field, description in violations])
        status.details.add().Pack(bad)
    return Refusal(status)


class PlainCall:
    """What the servicer reads of a gRPC call, from a call that is not one: its headers as metadata, its client
    certificate (verified by a TLS handshake) as the auth context; an abort raises Refusal."""

    def __init__(self, headers: list[tuple[str, str]], certificate_pem: bytes | None, secure: bool = False):
        self._metadata = tuple((key.lower(), value) for key, value in headers)
        self.secure = secure  # reached over TLS
        self._auth = {_PEM: [certificate_pem]} if certificate_pem else {}
        self.trailing: tuple = ()

    def invocation_metadata(self):
        return self._metadata

    def auth_context(self):
        return self._auth

    def time_remaining(self) -> float | None:
        return None  # neither an HTTP caller nor an in-process one gives a deadline: decided however long it takes

    def set_trailing_metadata(self, metadata) -> None:
        self.trailing = tuple(metadata)

    def abort(self, code: grpc.StatusCode, details: str):
        raise Refusal(status_pb2.Status(code=code.value[0], message=details))

    def abort_with_status(self, status: grpc.Status):
        for key, value in status.trailing_metadata or ():
            if key == "grpc-status-details-bin":
                raise Refusal(status_pb2.Status.FromString(value))
        raise Refusal(status_pb2.Status(code=status.code.value[0], message=status.details))


