"""Plaintext only when chosen: off loopback, `discretion serve` needs TLS or an explicit --plaintext."""

from __future__ import annotations

import io

import pytest

from discretion.cli import run
from discretion.cli.serve import _loopback


@pytest.mark.parametrize("address", ["0.0.0.0:50051", "[::]:50051", "10.0.0.7:0", "discretion.example:443"])
def test_a_network_address_without_tls_is_refused_before_binding(address, monkeypatch):
    monkeypatch.delenv("DISCRETION_PLAINTEXT", raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert run(["serve", "--address", address], out, err) == 2
    assert f"`{address}` is not loopback" in err.getvalue() and "--plaintext" in err.getvalue()


@pytest.mark.parametrize("address,loopback", [
    ("127.0.0.1:50051", True), ("127.1.2.3:0", True), ("[::1]:50051", True), ("localhost:50051", True),
    ("0.0.0.0:50051", False), ("[::]:50051", False), ("192.168.1.2:50051", False),
])
def test_loopback_addresses(address, loopback):
    assert _loopback(address) is loopback
