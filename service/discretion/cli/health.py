"""`discretion health`: ask a running server whether it serves, for a container's health check.

An image has no shell and no grpc_health_probe: `HEALTHCHECK CMD ["discretion",
"health"]` asks the standard `grpc.health.v1` service of the server started
from the same environment (`DISCRETION_HEALTH_ADDRESS`, else
`DISCRETION_ADDRESS`), over plaintext on the loopback: the health port when
the decision port speaks TLS. Exit 0 if the service is SERVING, 1 if not (or
nothing answers), 2 if it cannot be asked.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

_WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "health",
        help="ask a running server whether it serves (exit 0) or not (exit 1), for health checks",
        description="Ask the grpc.health.v1 service of a running `discretion serve` for one service's status. "
        "Readiness is the service `` (the default: SERVING once the rules compiled), liveness `liveness`.",
    )
    parser.add_argument("--address", metavar="HOST:PORT",
                        help="the server to ask; a wildcard host (0.0.0.0, [::]) asks localhost (default: "
                        "DISCRETION_HEALTH_ADDRESS, else DISCRETION_ADDRESS, else 127.0.0.1:50051)")
    parser.add_argument("--service", default="", help="the health service name (default: ``, readiness)")
    parser.add_argument("--timeout", type=_seconds, default=3.0, metavar="SECONDS",
                        help="how long to wait for the answer (default: 3)")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got `{text}`") from None
    if not 0 < value < 3600:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds and less than an hour, got `{text}`")
    return value


def _target(args: argparse.Namespace) -> tuple[str | None, str]:
    """(host:port to ask, or None and why it cannot be asked)."""
    if args.address:
        address = args.address
    else:
        health = os.environ.get("DISCRETION_HEALTH_ADDRESS", "").strip()
        if health and health.lower() != "off":
            address = health
        elif os.environ.get("DISCRETION_TLS_CERT"):
            return None, ("the decision port speaks TLS: ask the plaintext health port "
                          "(serve with --health-address, DISCRETION_HEALTH_ADDRESS)")
        else:
            address = os.environ.get("DISCRETION_ADDRESS", "127.0.0.1:50051")
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return None, f"`{address}` is not HOST:PORT"
    return f"{'localhost' if host in _WILDCARDS else host}:{port}", ""


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    target, why = _target(args)
    if target is None:
        print(f"discretion health: {why}", file=stderr)
        return 2
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # a probe's output is its one line
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(target) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout)
    except grpc.RpcError as error:
        print(f"discretion health: {target}: {error.code().name}: {error.details()}", file=stderr)
        return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(status, file=stdout)
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1
