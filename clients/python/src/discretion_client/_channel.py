"""What the sync and async clients share about connecting: settings, channel
options, credentials and the round-robin choice of channel."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc

_propagate: Any
try:  # the platform's own OpenTelemetry, if it has one: a call carries its trace context (`_trace_context`)
    from opentelemetry import propagate as _propagate
except Exception:  # noqa: BLE001 - not installed, or its OTEL_PROPAGATORS names one it cannot load: no context sent
    _propagate = None

SERVICE = "discretion.v1.PolicyService"

# UNAVAILABLE means the call never reached a server (a restart, a refused
# connection). CANCELLED is retried too: a server shutting down gracefully
# finishes the calls its handlers started but answers CANCELLED to calls that
# were queued and never handled (grpc/grpc#41785) — nothing was decided, so
# another replica may answer. A cancel by this client is never retried: gRPC
# stops retrying once the caller cancels or the deadline passes. Every method
# is a pure read, so a retry cannot decide anything twice. The retries share
# the call's deadline, so a timeout still bounds the whole call.
#
# round_robin: gRPC keeps one long-lived HTTP/2 connection per server, so a
# load balancer in front balances connections, not calls. Given a target that
# resolves to every replica (a Kubernetes headless Service, e.g.
# `dns:///discretion-headless.NAMESPACE.svc.cluster.local:50051`), the channel
# connects to all of them and spreads calls in turn, following the DNS answer
# as replicas come and go. A target with one address behaves as before.
SERVICE_CONFIG: dict[str, object] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{"service": SERVICE}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.05s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
            },
        }
    ]
}


def channel_options() -> list[tuple[str, object]]:
    """Options for every channel a client opens."""
    return [
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.enable_retries", 1),
        # gRPC shares connections between channels with equal options by
        # default, which would put a whole pool on one connection and so on
        # one server process; a local pool gives each channel its own.
        ("grpc.use_local_subchannel_pool", 1),
        # A failed reconnect waits 1 s by default before the next, longer
        # than the retries above last (about 0.35 s): when a worker process
        # dies, a reconnect can land in its closing listener and be reset,
        # and every retry then failed at once. From 0.1 s, the next attempt
        # reaches a live worker while the call is still being retried.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 10_000),
        # While a call waits, a ping every 60 s finds a server gone without a word (its node lost) in 80 s,
        # not the system's TCP timeout of many minutes. The server accepts pings from every 10 s.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]


@dataclass(frozen=True)
class TlsCredentials:
    """TLS for the connection. All fields are PEM bytes; leave them None for the defaults.

    `root_certificates` None trusts the system's roots; `private_key` and
    `certificate_chain` together present a client certificate (mutual TLS).
    """

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None

    def __post_init__(self) -> None:
        if (self.private_key is None) != (self.certificate_chain is None):
            raise ValueError("TlsCredentials: private_key and certificate_chain go together")


def grpc_credentials(credentials: TlsCredentials) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=credentials.root_certificates,
        private_key=credentials.private_key,
        certificate_chain=credentials.certificate_chain,
    )


Metadata = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Settings:
    """A client's validated constructor arguments."""

    target: str
    timeout: float
    channels: int
    credentials: TlsCredentials | None
    metadata: tuple[tuple[str, str], ...]

    @classmethod
    def make(
        cls,
        target: str,
        timeout: float,
        channels: int,
        credentials: TlsCredentials | None,
        metadata: Metadata | None,
    ) -> Settings:
        if not isinstance(target, str) or not target:
            raise ValueError("target: expected an address such as '127.0.0.1:50051'")
        _check_timeout("timeout", timeout)
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError("channels: expected an integer of at least 1")
        if credentials is not None and not isinstance(credentials, TlsCredentials):
            raise TypeError("credentials: expected TlsCredentials or None")
        return cls(target, float(timeout), channels, credentials, _metadata(metadata))

    def deadline(self, timeout: float | None) -> float:
        """The timeout for one call: its own if given, else the client's."""
        if timeout is None:
            return self.timeout
        _check_timeout("timeout", timeout)
        return float(timeout)

    def call_metadata(self, request_id: str | None = None) -> tuple[tuple[str, str], ...] | None:
        """The client's metadata, the call's `x-request-id` when given, and the caller's trace context.

        The server's decision-log lines for the call carry the request id as `request_id`, so a platform
        finds them by its own request's id; with OpenTelemetry in the calling process, the current span's
        context goes as its propagators write it (W3C `traceparent` by default), so the server's span and
        log line join the platform's trace."""
        metadata = self.metadata
        if request_id is not None:
            if not isinstance(request_id, str) or not re.fullmatch(r"[\x20-\x7e]{1,128}", request_id):
                raise ValueError(f"request_id: 1 to 128 printable ASCII characters, got {request_id!r}")
            metadata = (*(pair for pair in metadata if pair[0] != "x-request-id"), ("x-request-id", request_id))
        traced = _trace_context()
        if traced:
            metadata = (*(pair for pair in metadata if pair[0] not in traced), *traced.items())
        return metadata or None


def _trace_context() -> dict[str, str]:
    """The current OpenTelemetry context as headers; none without OpenTelemetry or outside a span.

    Never `baggage`: it often carries the platform's user ids, and the server reads none of it."""
    if _propagate is None:
        return {}
    carrier: dict[str, str] = {}
    _propagate.inject(carrier)
    carrier.pop("baggage", None)
    return carrier


def _check_timeout(name: str, value: float) -> None:
    # Every call gets a deadline: a call without one can hang for ever on a
    # stuck server, and a caller waiting on a decision would hang with it.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: expected a positive number of seconds")


def _metadata(metadata: Metadata | None) -> tuple[tuple[str, str], ...]:
    if metadata is None:
        return ()
    pairs = metadata.items() if isinstance(metadata, Mapping) else metadata
    checked = []
    for key, value in pairs:
        # Checked here so that a bad header fails at construction, not as an
        # obscure error on the first call.
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"metadata: expected str keys and values, got {key!r}: {value!r}")
        # gRPC rejects upper-case keys; HTTP/2 would lower-case them anyway.
        checked.append((key.lower(), value))
    return tuple(checked)


T = TypeVar("T")


class RoundRobin(Generic[T]):
    """Hands out items in turn, so calls spread over every channel of a pool."""

    def __init__(self, items: Sequence[T]) -> None:
        self._items = tuple(items)
        # next() on itertools.count is atomic under the GIL, so threads
        # sharing a client need no lock.
        self._turn = itertools.count()

    def next(self) -> T:
        return self._items[next(self._turn) % len(self._items)]
