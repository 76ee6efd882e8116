"""`discretion serve`: answer PolicyService calls over gRPC from the rules in a directory.

Every flag has an environment variable, for containers: DISCRETION_RULES,
DISCRETION_ADDRESS, DISCRETION_MAX_BATCH, DISCRETION_WORKERS,
DISCRETION_METRICS_ADDRESS, DISCRETION_DECISION_LOG, DISCRETION_HEALTH_ADDRESS,
DISCRETION_TLS_CERT, DISCRETION_TLS_KEY, DISCRETION_TLS_CLIENT_CA,
DISCRETION_TENANTS, DISCRETION_ENGINE, and DISCRETION_MAX_<LIMIT> for each request limit
(DISCRETION_MAX_ITEMS, DISCRETION_MAX_MESSAGE_BYTES, ...).

Traces are OpenTelemetry's standard variables, not flags: setting
OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) turns them on (server/tracing.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
from typing import TextIO

_OFF = ("", "off", "none")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve decisions over gRPC",
        description="Serve PolicyService over gRPC, reloading the rules when their files change "
        "(or on SIGHUP). SIGTERM or SIGINT stops gracefully.",
        epilog="Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://collector:4317) to send one OpenTelemetry "
        "span per call over OTLP/gRPC (needs `discretion[otel]`); the other standard OTEL_* variables apply.",
    )
    env = os.environ.get
    parser.add_argument(
        "--rules",
        default=env("DISCRETION_RULES", "rules"),
        metavar="DIR",
        help="the rules directory (env DISCRETION_RULES; default: rules)",
    )
    parser.add_argument(
        "--address",
        default=env("DISCRETION_ADDRESS", "127.0.0.1:50051"),
        metavar="HOST:PORT",
        help="where to listen; port 0 picks a free port (env DISCRETION_ADDRESS; default: 127.0.0.1:50051)",
    )
    parser.add_argument(
        "--max-batch",
        # A string default goes through `type` too, so a bad environment value
        # is a usage error of `serve` alone, not a crash of every command.
        default=env("DISCRETION_MAX_BATCH", "100"),
        type=_positive_int,
        metavar="N",
        help="most checks one CheckBatch call may carry (env DISCRETION_MAX_BATCH; default: 100)",
    )
    parser.add_argument(
        "--workers",
        default=env("DISCRETION_WORKERS"),
        type=_positive_int,
        metavar="N",
        help="processes serving the port, supervised and restarted if they die; 1 serves from this process "
        "(env DISCRETION_WORKERS; default: the CPUs available, a container's CPU limit included)",
    )
    parser.add_argument(
        "--threads",
        default=env("DISCRETION_THREADS", "2"),
        type=_positive_int,
        metavar="N",
        help="threads per process answering calls; deciding holds Python's lock, so more threads than 2 only "
        "contend for it (env DISCRETION_THREADS; default: 2)",
    )
    parser.add_argument(
        "--metrics-address",
        default=env("DISCRETION_METRICS_ADDRESS", "127.0.0.1:9464"),
        metavar="HOST:PORT",
        help="where to serve Prometheus metrics at /metrics; `off` serves none "
        "(env DISCRETION_METRICS_ADDRESS; default: 127.0.0.1:9464)",
    )
    parser.add_argument(
        "--decision-log-hash-ids", default=env("DISCRETION_DECISION_LOG_HASH_IDS"), metavar="KEYFILE",
        help="log ids (the group's) as HMAC-SHA256 hex with the key in KEYFILE (at least 16 bytes), so lines "
        "still correlate but name no group; a new key starts new ids (env DISCRETION_DECISION_LOG_HASH_IDS)")
    parser.add_argument(
        "--matcher-cache-bytes", default=env("DISCRETION_MATCHER_CACHE_BYTES", str(32 * 2**20)), type=_positive_int,
        metavar="N", help="memory the name matchers of recent rosters may hold, per worker, estimated in bytes; "
        "the roster in use is kept whatever its size (env DISCRETION_MATCHER_CACHE_BYTES; default: 32 MiB)")
    parser.add_argument(
        "--roster-cache-bytes", default=env("DISCRETION_ROSTER_CACHE_BYTES", str(32 * 2**20)), type=_nonnegative_int,
        metavar="N", help="memory the rosters each tenant sent by reference (`group.roster_digest`) may hold, with "
        "their name matchers, per worker and per engine, estimated in bytes; 0 keeps none (env "
        "DISCRETION_ROSTER_CACHE_BYTES; default: 32 MiB)")
    parser.add_argument(
        "--decision-log",
        default=env("DISCRETION_DECISION_LOG", "off"),
        metavar="FILE",
        help="write one JSON line per decision (ids and codes, never content) to FILE, or `-` for standard "
        "output (env DISCRETION_DECISION_LOG; default: off)",
    )
    parser.add_argument(
        "--decision-log-only", default=env("DISCRETION_DECISION_LOG_ONLY", "all"), metavar="OUTCOMES",
        help="log only decisions with these outcomes, comma-separated: `deny`, `obligations` "
        "(allow_with_obligations), `allow`; e.g. `deny,obligations` leaves plain allows out. An audit trail "
        "with holes, so opt in (env DISCRETION_DECISION_LOG_ONLY; default: all)")
    parser.add_argument(
        "--health-address",
        default=env("DISCRETION_HEALTH_ADDRESS", "off"),
        metavar="HOST:PORT",
        help="also answer gRPC health checks, in plaintext, here: for probes that cannot speak TLS "
        "(env DISCRETION_HEALTH_ADDRESS; default: off)",
    )
    parser.add_argument(
        "--http-address",
        default=env("DISCRETION_HTTP_ADDRESS", "off"),
        metavar="HOST:PORT",
        help="also answer the same calls as HTTP/JSON (/v1/check, /v1/check-batch, /v1/agreements) and the "
        "AuthZEN 1.0 evaluation API, with the same tenants, TLS and limits "
        "(env DISCRETION_HTTP_ADDRESS; default: off)",
    )
    parser.add_argument(
        "--max-clock-skew",
        default=env("DISCRETION_MAX_CLOCK_SKEW", "300"),
        type=_skew,
        metavar="SECONDS",
        help="decide at this server's clock, and refuse a request whose requested_at is further from it than "
        "this; `off` decides as of requested_at instead, for what-if and replay deployments "
        "(env DISCRETION_MAX_CLOCK_SKEW; default: 300)",
    )
    parser.add_argument(
        "--engine",
        default=env("DISCRETION_ENGINE", "native"),
        choices=("native", "reference"),
        help="what decides: `native`, the Rust engine (explanations still come from the reference), or "
        "`reference`, the Python evaluator it is held to; a revision the native engine cannot read is served "
        "by the reference, and the log says so (env DISCRETION_ENGINE; default: native)",
    )
    parser.add_argument(
        "--max-connection-age", default=env("DISCRETION_MAX_CONNECTION_AGE", "60"), type=_age, metavar="SECONDS",
        help="ask a client to reconnect once its connection is this old (gRPC GOAWAY, with jitter), so it "
        "resolves the name again and spreads calls over replicas added since; `off` keeps connections "
        "(env DISCRETION_MAX_CONNECTION_AGE; default: 60)")
    parser.add_argument(
        "--max-connection-age-grace", default=env("DISCRETION_MAX_CONNECTION_AGE_GRACE", "30"), type=_seconds,
        metavar="SECONDS", help="how long the calls of a connection past its age may still run "
        "(env DISCRETION_MAX_CONNECTION_AGE_GRACE; default: 30)")
    parser.add_argument(
        "--keepalive-time", default=env("DISCRETION_KEEPALIVE_TIME", "60"), type=_seconds, metavar="SECONDS",
        help="ping a connection idle this long, to find peers gone without a word "
        "(env DISCRETION_KEEPALIVE_TIME; default: 60)")
    parser.add_argument(
        "--keepalive-timeout", default=env("DISCRETION_KEEPALIVE_TIMEOUT", "20"), type=_seconds, metavar="SECONDS",
        help="close a connection whose ping is unanswered this long (env DISCRETION_KEEPALIVE_TIMEOUT; default: 20)")
    parser.add_argument(
        "--log-format", default=env("DISCRETION_LOG_FORMAT", "text"), choices=("text", "json"),
        help="the server's own log on standard error (not the decision log): `text` lines, or `json`, one object "
        "per line (time, level, process, pid, event, message, fields) for every line written there, grpc's "
        "included (env DISCRETION_LOG_FORMAT; default: text)")
    parser.add_argument(
        "--log-level", default=env("DISCRETION_LOG_LEVEL", "info"), choices=("debug", "info", "warning", "error"),
        help="the least severe record written; where it listens and that it stopped are always written "
        "(env DISCRETION_LOG_LEVEL; default: info)")
    parser.add_argument("--tls-cert", default=env("DISCRETION_TLS_CERT"), metavar="FILE",
                        help="serve TLS with this PEM certificate chain, re-read when it changes "
                        "(env DISCRETION_TLS_CERT)")
    parser.add_argument("--tls-key", default=env("DISCRETION_TLS_KEY"), metavar="FILE",
                        help="the certificate's PEM private key (env DISCRETION_TLS_KEY)")
    parser.add_argument("--plaintext", action="store_true",
                        default=(env("DISCRETION_PLAINTEXT", "") or "").strip().lower() in ("1", "true", "yes"),
                        help="serve without TLS on an address other than loopback (env DISCRETION_PLAINTEXT=1); "
                        "loopback is served in plaintext without it")
    parser.add_argument("--tls-client-ca", default=env("DISCRETION_TLS_CLIENT_CA"), metavar="FILE",
                        help="require client certificates signed by these PEM roots (mutual TLS; "
                        "env DISCRETION_TLS_CLIENT_CA)")
    parser.add_argument("--tenants", default=env("DISCRETION_TENANTS"), metavar="FILE",
                        help="the tenants file: each calling platform's credentials and the groups it owns; "
                        "without it every caller may ask about every group (env DISCRETION_TENANTS)")
    limits = parser.add_argument_group("request limits", "a request over one is refused with INVALID_ARGUMENT "
                                       "naming the field and the limit")
    for flag, default, what in _LIMITS:
        variable = "DISCRETION_" + flag.upper().replace("-", "_")
        limits.add_argument(f"--{flag}", default=env(variable, str(default)), type=_positive_int, metavar="N",
                            help=f"{what} (env {variable}; default: {default:,})")
    parser.set_defaults(func=run)


# flag, default, help; each flag but --max-message-bytes is a field of server.limits.Limits.
_LIMITS = (
    ("max-message-bytes", 4 * 1024 * 1024, "largest request message, in bytes"),
    ("max-items", 1000, "items in one check"),
    ("max-participants", 10_000, "group participants, and destination recipients, in one check"),
    ("max-listed-people", 10_000, "people one item lists"),
    ("max-text", 100_000, "characters of quoted_text and of each item's text"),
    ("max-labels", 100, "labels, and consents, on one item; an adoption's segments, replaces and labels"),
    ("max-struct-depth", 16, "nesting of `attributes`"),
    ("max-adoptions", 100, "adoptions one group carries in one check"),
    ("max-id", 256, "characters of an id, agreement, segment, label scheme or value, consent scope"),
    ("max-name", 1000, "characters of a name, handle, organization, alias, descriptor or link"),
    ("max-names-per-person", 32, "handles, aliases and organization aliases of one person"),
    ("max-names-total", 500_000, "characters of all names, handles and organizations in one check together"),
    ("max-context-entries", 16, "entries of one check's request_context"),
    ("max-context-chars", 1024, "characters of one check's request_context, keys and values together "
                                "(printable ASCII only)"),
)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    for flag, value, choices in (("--log-format", args.log_format, ("text", "json")),
                                 ("--log-level", args.log_level, ("debug", "info", "warning", "error"))):
        if value not in choices:  # an environment variable's value: argparse checks only what the command says
            print(f"discretion serve: {flag} is one of {', '.join(choices)}, not `{value}`", file=stderr)
            return 2
    if args.log_format == "json":
        # grpc's C core writes to standard error itself, past Python's logging: in JSON mode every line
        # there must be an object, so it says nothing (unless the operator set GRPC_VERBOSITY).
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    # Imported here so that `discretion lint` does not load grpc.
    from ..server.app import serve
    from ..server.config import ServerSettings
    from ..server.auth import TenantsFile, TenantsInvalid
    from ..server.limits import Limits
    from ..server.tls import TlsFiles

    def refuse(message: str) -> int:
        """Why the server cannot start, in the log's format; exit status 2."""
        if args.log_format == "json":
            from ..server.shell import logging_to, said

            with logging_to(stderr, "json", args.log_level):
                said("discretion serve: %s", message, event_name="cannot_start", level=logging.ERROR)
        else:
            print(f"discretion serve: {message}", file=stderr)
        return 2

    if bool(args.tls_cert) != bool(args.tls_key):
        return refuse("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        return refuse("--tls-client-ca needs --tls-cert and --tls-key")
    http_address = _unless_off(args.http_address)
    if http_address and not args.tls_cert and not args.plaintext and not _loopback(http_address):
        return refuse(f"`{http_address}` is not loopback: serve TLS (--tls-cert, --tls-key) "
                      "or say --plaintext (env DISCRETION_PLAINTEXT=1)")
    if not args.tls_cert and not args.plaintext and not _loopback(args.address):
        # What is decided here is about the most private things a group says:
        # it crosses a network in the clear only when someone chose that.
        return refuse(f"`{args.address}` is not loopback: serve TLS (--tls-cert, --tls-key) "
                      "or say --plaintext (env DISCRETION_PLAINTEXT=1), e.g. behind a mesh that encrypts")
    try:
        tenants = TenantsFile(args.tenants) if args.tenants else None
    except TenantsInvalid as error:
        return refuse(str(error))
    id_key = None
    if args.decision_log_hash_ids:
        try:
            id_key = pathlib.Path(args.decision_log_hash_ids).read_bytes().strip()
        except OSError as error:
            return refuse(f"cannot read the --decision-log-hash-ids key: {error}")
        if len(id_key) < 16:
            # A short key is guessable, and with it every group id in the log.
            return refuse("the --decision-log-hash-ids key must hold at least 16 bytes "
                          "(e.g. `head -c 32 /dev/urandom | base64 > KEYFILE`)")
    outcomes = {"allow": "allow", "obligations": "allow_with_obligations",
                "allow_with_obligations": "allow_with_obligations", "deny": "deny"}
    asked = [word.strip().lower() for word in args.decision_log_only.split(",") if word.strip()]
    unknown = [word for word in asked if word not in outcomes and word != "all"]
    if unknown or not asked:
        return refuse(f"--decision-log-only takes `all` or outcomes of deny, obligations, allow, not "
                      f"`{args.decision_log_only}`")
    log_only = None if "all" in asked else frozenset(outcomes[word] for word in asked)
    from ..server import tracing

    traced = tracing.wanted()
    if traced:
        try:
            tracing.check()
        except tracing.TracingUnavailable as error:
            return refuse(str(error))
    settings = ServerSettings(
        rules_dir=args.rules,
        address=args.address,
        max_batch=args.max_batch,
        threads=args.threads,
        max_message_bytes=args.max_message_bytes,
        limits=Limits(**{flag.replace("-", "_"): getattr(args, flag.replace("-", "_"))
                         for flag, _, _ in _LIMITS if flag != "max-message-bytes"}),
        tenants=tenants,
        max_clock_skew=args.max_clock_skew,
        engine=args.engine,
        matcher_cache_bytes=args.matcher_cache_bytes,
        roster_cache_bytes=args.roster_cache_bytes,
        metrics_address=_unless_off(args.metrics_address),
        decision_log=_unless_off(args.decision_log),
        decision_log_id_key=id_key,
        decision_log_only=log_only,
        health_address=_unless_off(args.health_address),
        http_address=_unless_off(args.http_address),
        tls=TlsFiles(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None,
        tracing=traced,
        log_format=args.log_format,
        log_level=args.log_level,
        max_connection_age=args.max_connection_age,
        max_connection_age_grace=args.max_connection_age_grace,
        keepalive_time=args.keepalive_time,
        keepalive_timeout=args.keepalive_timeout,
    )
    from ..server.workers import available_cpus, supervise

    workers = args.workers or available_cpus()
    if workers == 1:
        return serve(settings, stderr=stderr)
    return supervise(settings, workers, stderr=stderr)


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _unless_off(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in _OFF else value


def _skew(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or `off`, got `{text}`") from None
    if not 0 <= value < 10**9:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got `{text}`")
    return value


def _seconds(text: str) -> float:
    """Seconds, more than 0: a zero keepalive or grace would mean something else than it says."""
    value = _skew(text)
    if not value:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got `{text}`")
    return value


def _age(text: str) -> float | None:
    return None if text.strip().lower() == "off" else _seconds(text)


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got `{text}`") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {least} or more, got `{text}`")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _nonnegative_int(text: str) -> int:
    return _whole_number(text, 0)
