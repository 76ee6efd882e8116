"""`discretion health`, as a container's health check runs it: a subprocess against a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from .conftest import RULES

BROKEN = ("effect: allow", "effect: alow")


def health(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DISCRETION_")}
    return subprocess.run([sys.executable, "-m", "discretion", "health", *args], capture_output=True, text=True,
                          timeout=60, env={**environment, **(env or {})})


def test_a_server_that_serves_is_healthy(start_ops):
    server = start_ops(RULES, workers=1)
    result = health("--address", server.target)
    assert (result.returncode, result.stdout, result.stderr) == (0, "SERVING\n", "")
    # From the environment the image sets: a wildcard address is asked on localhost.
    result = health(env={"DISCRETION_ADDRESS": f"0.0.0.0:{server.port}"})
    assert (result.returncode, result.stdout) == (0, "SERVING\n")


def test_a_server_without_rules_is_alive_but_not_ready(start_ops, rules_copy):
    chatham = rules_copy / "chatham-house.yaml"
    chatham.write_text(chatham.read_text().replace(*BROKEN, 1))
    server = start_ops(rules_copy, workers=1)
    result = health("--address", server.target)
    assert (result.returncode, result.stdout) == (1, "NOT_SERVING\n")
    assert health("--address", server.target, "--service", "liveness").returncode == 0


def test_nothing_listening_is_unhealthy_and_says_why():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = health("--address", f"127.0.0.1:{port}", "--timeout", "1")
    assert result.returncode == 1
    assert result.stderr.startswith(f"discretion health: 127.0.0.1:{port}: ") and result.stdout == ""


def test_the_health_port_is_asked_when_there_is_one_and_tls_alone_cannot_be(start_ops):
    server = start_ops(RULES, "--health-address", "127.0.0.1:0", workers=1)
    port = int(server.log().split("health on 127.0.0.1:")[1].split()[0])
    result = health(env={"DISCRETION_HEALTH_ADDRESS": f"127.0.0.1:{port}", "DISCRETION_ADDRESS": "127.0.0.1:1"})
    assert (result.returncode, result.stdout) == (0, "SERVING\n")
    refused = health(env={"DISCRETION_TLS_CERT": "/etc/tls/cert.pem"})
    assert refused.returncode == 2 and "--health-address" in refused.stderr


def test_a_timeout_that_is_no_time_is_refused():
    for bad in ("0", "-1", "nan", "soon"):
        result = health("--timeout", bad)
        assert result.returncode == 2 and "--timeout" in result.stderr, bad
