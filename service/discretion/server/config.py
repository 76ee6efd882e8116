"""What a server is told to do: one frozen value, read by every part of the process.

`discretion serve`'s options (cli/serve.py) and the tests build a
`ServerSettings`; `create_server()` and `serve()` (app.py), the worker
supervisor (workers.py) and the servicer read it. It imports nothing that
runs a server, so each of them can depend on it without depending on another.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from .auth import TenantsFile
from .limits import Limits
from .tls import TlsFiles

__all__ = ["Ready", "ServerSettings"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    rules_dir: pathlib.Path | str = "rules"
    address: str = "127.0.0.1:50051"  # host:port; port 0 picks a free one
    max_batch: int = 100  # checks per CheckBatch call
    # Threads answering calls. A decision holds the GIL from start to end, so
    # a second thread only overlaps gRPC's own work (which releases it); more
    # contend for the lock: the benchmark's floor served 18 % more calls at
    # batch 1 and 46 % more at batch 20 with 2 threads per process than with 8.
    threads: int = 2
    grace: float = 10.0  # seconds in-flight calls get to finish on stop
    watch_interval: float = 1.0  # seconds between looks at the rules directory
    max_message_bytes: int = 4 * 1024 * 1024  # a larger message is refused by gRPC before it is read
    limits: Limits = Limits()  # what one request may carry, checked before it is converted
    # Seconds a request's `requested_at` may stray from the server's clock,
    # which is what decides; None honours `requested_at` as given (what-if
    # and replay deployments).
    max_clock_skew: float | None = 300.0
    # "native": the Rust engine decides (discretion_native), the Python evaluator
    # explains; "reference": the Python evaluator does everything. Both answer
    # alike (tests/native/), stop at the caller's deadline and keep a worker
    # within its memory bound under the hostile pass; the native one in a
    # fifth of the time.
    engine: str = "native"
    tenants: TenantsFile | None = None  # None: one platform, every caller may ask everything
    matcher_cache_bytes: int = 32 * 2**20  # recent rosters' name matchers, per process and per engine (identify)
    # The rosters sent by reference (`Group.roster_digest`) each caller's (tenant's) may take, per process and
    # per engine, with what is derived from them; 0 keeps none (every digest sent alone is asked for again).
    roster_cache_bytes: int = 32 * 2**20
    # gRPC shares a port between processes by default; a second server started
    # by mistake would then take half the traffic unnoticed. Opt in to run
    # several processes on one port deliberately.
    reuse_port: bool = False
    # a file the workers of one server lock to reload one at a time (set by the supervisor)
    reload_turns: str | None = None
    metrics_address: str | None = None  # host:port of the /metrics page; None serves none
    decision_log: str | None = None  # "-" for standard output, or a file to append to; None logs no decisions
    # The decisions logged, by outcome ("allow", "allow_with_obligations", "deny"); None logs every one
    # (Cerbos's ignoreAllowAll is {"allow_with_obligations", "deny"}). An audit trail with holes: opt in.
    decision_log_only: frozenset[str] | None = None
    decision_log_id_key: bytes | None = None  # given: ids are logged as HMAC-SHA256 with it (decision_log.hashed_id)
    tls: TlsFiles | None = None  # None: plaintext
    health_address: str | None = None  # a plaintext port answering health only (for probes when `tls` is set)
    http_address: str | None = None  # host:port of the HTTP/JSON and AuthZEN face (http.py); None serves none
    # A connection older than this is asked to go (GOAWAY) once its calls finish, within the grace: its client
    # resolves the name again and connects to every replica there is now, so one added meanwhile gets calls.
    # None keeps connections for ever (new replicas then see only new clients).
    max_connection_age: float | None = 60.0
    max_connection_age_grace: float = 30.0
    # Seconds between pings on an idle connection, and how long an unanswered one waits: a peer gone without
    # a word (a node lost) is noticed, and its connection closed, within their sum.
    keepalive_time: float = 60.0
    keepalive_timeout: float = 20.0
    # One OpenTelemetry span per PolicyService call, exported as the OTEL_* environment says (tracing.py); the
    # CLI sets it when that environment asks for traces (`tracing.wanted`).
    tracing: bool = False
    log_format: str = "text"  # the process's own log on standard error: `text` lines or `json` objects (shell)
    log_level: str = "info"  # debug, info, warning, error: the package's records below it are not written


@dataclass(frozen=True, slots=True)
class Ready:
    """What a started server bound; 0 for what it does not serve."""

    port: int
    metrics_port: int = 0
    health_port: int = 0
    http_port: int = 0
