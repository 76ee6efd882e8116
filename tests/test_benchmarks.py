"""The benchmarks keep running: a quick pass prints every row (no figure is asserted)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_engine_benchmark_prints_its_table():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "engine_bench.py"), "--quick"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for row in ("Chatham House quote, 1 item, no name", "20-item export", "policy of 100 agreements",
                "compile: 1,000 rules", "memory: RSS"):
        assert row in out, out


def test_grpc_benchmark_prints_its_table_offline():
    # --no-cerbos: no npm, no network; Discretion, the client and the floor are still measured.
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grpc_bench.py"), "--quick", "--no-cerbos"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for row in ("| 1 | Discretion |", "| 20 | Discretion |", "| 1 | Discretion via discretion_client |",
                "| 20 | Python gRPC floor", "| 1 | Discretion, rules reloaded every 1 s |",
                "reload under load, p99 within 2×"):
        assert row in out, out


def test_roster_benchmark_prints_its_rows_offline():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "roster_bench.py"), "--quick", "--no-cerbos",
                             "--members", "500"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for row in ("| 10 members, by value |", "| 500 members, by value |", "| 500 members, by reference |",
                "| by reference, not held: refused, then sent with the roster |", "| by reference, held |"):
        assert row in result.stdout, result.stdout


def test_http_benchmark_prints_its_table():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "http_bench.py"), "--calls", "20",
                             "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| gRPC |" in result.stdout and "| HTTP/JSON |" in result.stdout and "HTTP/gRPC:" in result.stdout
