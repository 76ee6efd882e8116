"""`discretion serve`: answer PolicyService calls over gRPC from the rules in a directory.

Every flag has an environment variable, for containers: DISCRETION_RULES,
DISCRETION_ADDRESS, DISCRETION_MAX_BATCH.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve decisions over gRPC",
        description="Serve PolicyService over gRPC, reloading the rules when their files change "
        "(or on SIGHUP). SIGTERM or SIGINT stops gracefully.",
    )
    parser.add_argument(
        "--rules",
        default=os.environ.get("DISCRETION_RULES", "rules"),
        metavar="DIR",
        help="the rules directory (env DISCRETION_RULES; default: rules)",
    )
    parser.add_argument(
        "--address",
        default=os.environ.get("DISCRETION_ADDRESS", "127.0.0.1:50051"),
        metavar="HOST:PORT",
        help="where to listen; port 0 picks a free port (env DISCRETION_ADDRESS; default: 127.0.0.1:50051)",
    )
    parser.add_argument(
        "--max-batch",
        # A string default goes through `type` too, so a bad environment value
        # is a usage error of `serve` alone, not a crash of every command.
        default=os.environ.get("DISCRETION_MAX_BATCH", "100"),
        type=_positive_int,
        metavar="N",
        help="most checks one CheckBatch call may carry (env DISCRETION_MAX_BATCH; default: 100)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    # Imported here so that `discretion lint` does not load grpc.
    from ..server.app import ServerSettings, serve

    settings = ServerSettings(rules_dir=args.rules, address=args.address, max_batch=args.max_batch)
    return serve(settings, stderr=stderr)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got `{text}`") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got `{text}`")
    return value
