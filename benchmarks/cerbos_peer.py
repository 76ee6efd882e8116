"""Cerbos 0.55, the peer: installed from npm into a temporary folder, served on loopback.

The policy and configuration are copies of the peer's, kept in
policies/cerbos/; only the listening addresses are overridden, to free ports.
The request messages come from PyPI `cerbos` (the `bench` extra).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

from cerbos.effect.v1 import effect_pb2
from cerbos.engine.v1 import engine_pb2
from cerbos.request.v1 import request_pb2
from cerbos.response.v1 import response_pb2
from google.protobuf import struct_pb2

from mix import ACTOR, MIX, OTHER, Case, cycle
from servers import Server, free_port, start_process

VERSION = "0.55.0"
PACKAGE = f"@cerbos/cerbos-linux-x64@{VERSION}"
BINARY = "node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"
POLICIES = pathlib.Path(__file__).resolve().parent / "policies" / "cerbos"
METHOD = "/cerbos.svc.v1.CerbosService/CheckResources"


def install(folder: pathlib.Path) -> pathlib.Path:
    """The Cerbos binary, installed with npm into `folder`; raises RuntimeError if it cannot be."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: Cerbos is installed from npm (run with --no-cerbos to skip it)")
    result = subprocess.run([npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--silent",
                             PACKAGE], capture_output=True, text=True, timeout=300)
    binary = folder / BINARY
    if result.returncode != 0 or not binary.exists():
        raise RuntimeError(f"npm install {PACKAGE} failed:\n{result.stderr.strip()}")
    return binary


def start(binary: pathlib.Path, folder: pathlib.Path) -> Server:
    """Cerbos serving a copy of policies/cerbos/ on a free loopback port, once its policy compiled."""
    config = folder / "cerbos"
    shutil.copytree(POLICIES, config)
    env = {**os.environ, "CERBOS_POLICY_DIR": str(config / "policies"), "CERBOS_NO_TELEMETRY": "1"}
    check = subprocess.run([str(binary), "compile", str(config / "policies")], capture_output=True, text=True,
                           env=env, timeout=60)
    if check.returncode != 0:
        raise RuntimeError(f"cerbos compile rejected the policy:\n{check.stdout}{check.stderr}")
    port = free_port()
    command = [str(binary), "server", f"--config={config / 'config.yaml'}",
               f"--set=server.grpcListenAddr=127.0.0.1:{port}",
               f"--set=server.httpListenAddr=127.0.0.1:{free_port()}"]
    process = start_process(command, folder / "cerbos.log", env)
    server = Server("Cerbos", process, f"127.0.0.1:{port}", folder / "cerbos.log")
    server.wait_for_line(f"Starting gRPC server at 127.0.0.1:{port}")
    return server


def version(binary: pathlib.Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.split()[0] if out else VERSION


# ---- the mix on the wire ------------------------------------------------------------

def _entry(index: int, case: Case) -> request_pb2.CheckResourcesRequest.ResourceEntry:
    author = ACTOR if case.own else OTHER
    attributes = {
        "label": struct_pb2.Value(string_value=case.label),
        "author": struct_pb2.Value(string_value=author[0]),
        "author_affiliation": struct_pb2.Value(string_value=author[2]),
        "attribution": struct_pb2.Value(bool_value=case.attribution),
        "destination": struct_pb2.Value(string_value=case.destination),
    }
    return request_pb2.CheckResourcesRequest.ResourceEntry(
        actions=[case.action],
        resource=engine_pb2.Resource(kind="message", id=f"m-{index}", attr=attributes),
    )


def _request(entries: list) -> request_pb2.CheckResourcesRequest:
    return request_pb2.CheckResourcesRequest(
        principal=engine_pb2.Principal(id=ACTOR[0], roles=["member"]),
        resources=entries,
    )


def payloads(batch: int) -> tuple[str, list[bytes]]:
    """(method, serialized requests): one resource per call at batch 1, the whole mix in one call at 20."""
    entries = [_entry(i, case) for i, case in enumerate(MIX)]
    if batch == 1:
        return METHOD, [_request([e]).SerializeToString() for e in entries]
    return METHOD, [_request(cycle(entries, batch)).SerializeToString()]


def allowed(answer: bytes) -> list[bool]:
    """Allowed, per resource of a serialized answer."""
    response = response_pb2.CheckResourcesResponse.FromString(answer)
    return [all(effect == effect_pb2.EFFECT_ALLOW for effect in result.actions.values())
            for result in response.results]
