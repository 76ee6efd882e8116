"""`discretion hash-token`: the form a tenant's token is stored in, for the tenants file.

The token is read from standard input (so it stays out of the shell history
and the process list) and its SHA-256 is printed in hex.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from typing import TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hash-token",
        help="print the SHA-256 of a token read from standard input, for the tenants file",
        description="Read a bearer token from standard input and print the SHA-256 hex digest the tenants "
        "file stores in its place.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    token = sys.stdin.readline().strip()
    if not token:
        print("discretion hash-token: no token on standard input", file=stderr)
        return 2
    # The same digest as server.auth.hash_token, without loading grpc for it.
    print(hashlib.sha256(token.encode()).hexdigest(), file=stdout)
    return 0
