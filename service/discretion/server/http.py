"""The HTTP/JSON face of PolicyService: the same servicer, reached with `curl`.

`POST /v1/check` and `POST /v1/check-batch` take a CheckRequest and a
CheckBatchRequest in the proto3 JSON mapping (what grpcurl takes) and answer a
CheckResponse and a CheckBatchResponse the same way; `GET /v1/agreements`
answers ListAgreementsResponse, and `POST /v1/interaction-policy` and
`POST /v1/quote-request` a GetInteractionPolicyRequest and an
AnswerQuoteRequestRequest. The AuthZEN evaluation API (`authzen`) is
served beside them.

Nothing here decides or checks a caller: each call is handed to the gRPC
servicer's own method as the request's bytes, with a `call.PlainCall` standing
in for gRPC's context, so tenants (a bearer token, or the client certificate of
an HTTPS connection), limits, metrics, the decision log and the decision ids
are the gRPC path's, by construction. A gRPC status becomes the HTTP status
the gRPC-HTTP mapping gives it, with a `google.rpc.Status` in JSON as the body
(a refused request's `google.rpc.BadRequest` naming each field).

Each worker serves the port (SO_REUSEPORT, as the gRPC port); with TLS, the
handshake happens in the connection's own thread, within
`_HANDSHAKE_SECONDS`, with the certificate, key and client CA read again when
their files change (as the gRPC port reads them), so a client that never
finishes it holds up no other and a removed CA stops authenticating at once.

Bounded as the gRPC port is: at most `_CONNECTIONS` connections a worker (one
more is closed at once), at most `settings.threads` requests parsed and
decided at a time (a JSON body costs many times its size while parsed), a
body no larger than `--max-message-bytes` as JSON and as the message it
becomes, and a connection idle or trickling for `_READ_SECONDS` closed.
Framing is strict: one Content-Length of digits only, no Transfer-Encoding,
and any answer but a success closes the connection, so a body left unread can
never be taken for the next request (which, behind a proxy that reuses
connections, would answer someone else).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import pathlib
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Iterator

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2

from ..store.watch import Watched, all_present
from ._gen.discretion.v1 import policy_pb2 as pb
from .call import PlainCall, Refusal, refusal
from .correlation import TRAILER

if TYPE_CHECKING:
    from .config import ServerSettings
    from .servicer import PolicyServicer

__all__ = ["PlainCall", "create_http_server", "grpc_status_to_http"]

_HANDSHAKE_SECONDS = 10.0
_READ_SECONDS = 10.0  # a connection that sends nothing for this long is closed
_CONNECTIONS = 64  # a worker's open connections; past it a new one is closed at once
_LENGTH = re.compile(r"[0-9]{1,12}")

# The gRPC-HTTP mapping (google.rpc.Code's comments; grpc-gateway's table).
_HTTP = {
    grpc.StatusCode.OK: 200, grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504, grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409, grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


def grpc_status_to_http(code: grpc.StatusCode) -> int:
    return _HTTP.get(code, 500)


# A route: (method, path) -> handler(body, call) -> the answer as a JSON-ready dict, or raises Refusal.
Route = Callable[[bytes, PlainCall], Any]


def json_message(message: type[Message], body: bytes) -> Message:
    """The message a JSON body holds (proto3 JSON mapping, names in camelCase or as in the proto);
    INVALID_ARGUMENT naming what does not read."""
    try:
        return json_format.Parse(body.decode("utf-8"), message(), ignore_unknown_fields=False)
    except (json_format.ParseError, UnicodeDecodeError, RecursionError) as error:
        raise refusal(grpc.StatusCode.INVALID_ARGUMENT, "the body is not a well-formed "
                      f"{message.DESCRIPTOR.full_name} in JSON",
                      [("", str(error) or type(error).__name__)]) from None


def within(data: bytes, max_bytes: int) -> bytes:
    """The message's bytes, if gRPC would take them: JSON a fraction of the size can say as much."""
    if len(data) > max_bytes:
        raise refusal(grpc.StatusCode.RESOURCE_EXHAUSTED,
                      f"the request is {len(data)} bytes as a message; at most {max_bytes} (--max-message-bytes)")
    return data


def as_json(message: Message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


def _answered(answer: Message | bytes, message: type[Message]) -> Message:
    return message.FromString(answer) if isinstance(answer, bytes) else answer


def policy_routes(servicer: PolicyServicer, max_bytes: int) -> dict[tuple[str, str], Route]:
    """/v1: the PolicyService methods a platform calls, as JSON."""

    def check(body: bytes, call: PlainCall) -> dict:
        request = within(json_message(pb.CheckRequest, body).SerializeToString(), max_bytes)
        return as_json(_answered(servicer.Check(request, call), pb.CheckResponse))

    def check_batch(body: bytes, call: PlainCall) -> dict:
        request = within(json_message(pb.CheckBatchRequest, body).SerializeToString(), max_bytes)
        return as_json(_answered(servicer.CheckBatch(request, call), pb.CheckBatchResponse))

    def agreements(body: bytes, call: PlainCall) -> dict:
        return as_json(servicer.ListAgreements(b"", call))

    def interaction_policy(body: bytes, call: PlainCall) -> dict:
        request = within(json_message(pb.GetInteractionPolicyRequest, body).SerializeToString(), max_bytes)
        return as_json(servicer.GetInteractionPolicy(request, call))

    def recheck_quotes(body: bytes, call: PlainCall) -> dict:
        request = within(json_message(pb.RecheckQuotesRequest, body).SerializeToString(), max_bytes)
        return as_json(servicer.RecheckQuotes(request, call))

    def quote_request(body: bytes, call: PlainCall) -> dict:
        request = within(json_message(pb.AnswerQuoteRequestRequest, body).SerializeToString(), max_bytes)
        return as_json(servicer.AnswerQuoteRequest(request, call))

    return {("POST", "/v1/check"): check, ("POST", "/v1/check-batch"): check_batch,
            ("GET", "/v1/agreements"): agreements, ("POST", "/v1/interaction-policy"): interaction_policy,
            ("POST", "/v1/quote-request"): quote_request, ("POST", "/v1/recheck-quotes"): recheck_quotes}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: connections arrive in bursts
    block_on_close = False

    def __init__(self, address: tuple, family: int, reuse_port: bool, tls: _TlsFiles | None,
                 routes: dict[tuple[str, str], Route], max_body: int, counted: Callable[[str, int], None],
                 deciding: int):
        self.address_family = family
        self.reuse_port = reuse_port
        self.routes = routes
        self.paths = frozenset(path for _, path in routes)  # what the metrics name; any other path is "other"
        self.max_body = max_body
        self.counted = counted
        self.stopping = False
        self._active = 0
        self._idle = threading.Condition()
        self._connections = threading.BoundedSemaphore(_CONNECTIONS)
        self.deciding = threading.BoundedSemaphore(max(1, deciding))
        self.tls = tls
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        if not self._connections.acquire(blocking=False):  # at the bound: no thread for this one
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._connections.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def server_bind(self) -> None:
        if self.reuse_port:  # the workers of one server share the port, as they share the gRPC one
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def finish_request(self, request, client_address) -> None:
        if self.tls is None:
            request.settimeout(_READ_SECONDS)
            super().finish_request(request, client_address)
            return
        # In this connection's thread: a slow handshake holds up nobody else; the files as they are now.
        secure = self.tls.context().wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            secure.settimeout(_HANDSHAKE_SECONDS)
            secure.do_handshake()
            secure.settimeout(_READ_SECONDS)
            super().finish_request(secure, client_address)
        except (OSError, ssl.SSLError):
            return
        finally:
            secure.close()

    def handle_error(self, request, client_address) -> None:
        pass  # a connection reset or cut short is the client's affair, not a traceback on stderr

    def drain(self, timeout: float) -> None:
        """Stop taking connections and requests (a request on a kept-alive connection is answered 503), and give
        the requests in flight up to `timeout` seconds to finish: their decisions are logged before the log closes."""
        self.stopping = True
        self.shutdown()
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout)

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count a request in flight, for `drain` to wait on."""
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # The head and the body are two writes: with Nagle's algorithm the body waited for the client's delayed ACK,
    # 40 ms an answer on a kept-alive connection.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "discretion"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the decision log and the metrics say what was asked; an access log would repeat it

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        with self.server.answering():
            self._answer_now(method)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a bad request line, a method it does not know) as a Status in JSON."""
        self.close_connection = True
        status = {"code": code_pb2.INVALID_ARGUMENT if code < 500 else code_pb2.INTERNAL,
                  "message": message or HTTPStatus(code).phrase}
        try:
            self._send(code, status, "other")
        except OSError:
            pass

    def _answer_now(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        route = self.server.routes.get((method, path))
        if self.server.stopping:
            self.close_connection = True
            self._send(503, {"code": code_pb2.UNAVAILABLE, "message": "the server is stopping"}, path)
            return
        try:
            if route is None:
                allowed = [m for (m, p) in self.server.routes if p == path]
                raise refusal(grpc.StatusCode.UNIMPLEMENTED if allowed else grpc.StatusCode.NOT_FOUND,
                              f"{method} {path}: " + (f"use {', '.join(allowed)}" if allowed else "no such path"))
            body = self._body(method)
            call = PlainCall(list(self.headers.items()), self._certificate(),
                             isinstance(self.connection, ssl.SSLSocket))
            with self.server.deciding:  # a JSON body costs many times its size while parsed: a few at a time
                answer = route(body, call)
        except Refusal as refused:
            self._send(grpc_status_to_http(refused.code), as_json(refused.status), path)
            return
        except Exception:  # noqa: BLE001 - never a traceback to a caller; the servicer logs its own faults
            self._send(500, {"code": code_pb2.INTERNAL, "message": "internal error"}, path)
            return
        extra = {}
        for key, value in call.trailing:
            if key == TRAILER:
                extra[TRAILER] = value
        self._send(200, answer, path, extra)

    def _body(self, method: str) -> bytes:
        if self.headers.get_all("Transfer-Encoding"):
            raise refusal(grpc.StatusCode.INVALID_ARGUMENT, "send the body with a Content-Length, no Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1 or (lengths and not _LENGTH.fullmatch(lengths[0].strip())):
            raise refusal(grpc.StatusCode.INVALID_ARGUMENT, "one Content-Length, of digits only")
        length = int(lengths[0]) if lengths else 0
        if method != "POST":
            if length:
                raise refusal(grpc.StatusCode.INVALID_ARGUMENT, f"a {method} has no body")
            return b""
        if not lengths:
            raise refusal(grpc.StatusCode.INVALID_ARGUMENT, "a body needs its Content-Length")
        if length > self.server.max_body:
            raise refusal(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"the body is {length} bytes; at most {self.server.max_body} (--max-message-bytes)")
        body = self.rfile.read(length)
        kind = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            raise refusal(grpc.StatusCode.INVALID_ARGUMENT, f"Content-Type `{kind}`: the body is JSON "
                          "(application/json)", [("Content-Type", "expected application/json")])
        return body

    def _certificate(self) -> bytes | None:
        """The client certificate the handshake verified against the client CA, as PEM; None without one."""
        connection = self.connection
        if not isinstance(connection, ssl.SSLSocket):
            return None
        der = connection.getpeercert(binary_form=True)
        return ssl.DER_cert_to_PEM_cert(der).encode() if der else None

    def _send(self, status: int, body: dict, path: str, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if status != 200:
            # A refusal may leave a body unread: the connection ends here, so nothing of it is read as a request.
            self.close_connection = True
            headers = {**(headers or {}), "Connection": "close"}
        # Counted before the answer leaves: whoever reads the metrics after it sees it counted.
        self.server.counted(path if path in self.server.paths else "other", status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def create_http_server(settings: ServerSettings, routes: dict[tuple[str, str], Route],
                       counted: Callable[[str, int], None]) -> tuple[_Server, int]:
    """A bound HTTP server answering `routes` on `settings.http_address` (TLS as the gRPC port has it)."""
    assert settings.http_address
    host, _, port = settings.http_address.rpartition(":")
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    tls = _TlsFiles(settings.tls) if settings.tls is not None else None
    server = _Server((bare or "0.0.0.0", int(port)), family, settings.reuse_port, tls, routes,
                     settings.max_message_bytes, counted, settings.threads)
    return server, server.server_address[1]


class _TlsFiles:
    """The TLS context of the files as they are now: read again, for the next connection, when one changed
    (a file missing is one caught mid-swap, and the last good context serves meanwhile)."""

    def __init__(self, files: Any):
        self._files = files
        self._watched = Watched([pathlib.Path(p) for p in (files.certificate, files.private_key, files.client_ca)
                                 if p])
        self._context = self._read()
        self._lock = threading.Lock()

    def _read(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self._files.certificate), str(self._files.private_key))
        if self._files.client_ca:
            context.load_verify_locations(str(self._files.client_ca))
            context.verify_mode = ssl.CERT_REQUIRED  # as the gRPC port: mutual TLS or no connection
        return context

    def context(self) -> ssl.SSLContext:
        with self._lock:
            now = self._watched.look()
            if all_present(now) and now != self._watched.seen:
                try:
                    self._context = self._read()
                    self._watched.seen = now
                except (OSError, ssl.SSLError):
                    pass  # caught mid-rewrite: the last good context, and a look again next time
            return self._context


def serve_in_background(server: _Server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="discretion-http",
                              daemon=True)
    thread.start()
    return thread
