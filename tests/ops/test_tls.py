"""TLS on the decision port, renewed certificates picked up, and the plaintext health port probes use."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import discretion_client as dc

from .conftest import RULES, chatham_quote

HEALTH_LINE = r"discretion: health on 127\.0\.0\.1:(\d+)"


def make_certificate(folder: pathlib.Path, name: str) -> tuple[pathlib.Path, pathlib.Path]:
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl not found: no certificate to serve TLS with")
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_decisions_and_plaintext_health(start_ops, tmp_path):
    cert, key = make_certificate(tmp_path, "discretion")
    server = start_ops(RULES, "--tls-cert", str(cert), "--tls-key", str(key),
                       "--health-address", "127.0.0.1:0", workers=2)
    health_port = int(re.search(HEALTH_LINE, server.log()).group(1))

    trusted = dc.TlsCredentials(root_certificates=cert.read_bytes())
    with dc.Client(server.target, credentials=trusted) as client:
        assert client.check(chatham_quote()).decision == "allow_with_obligations"
    with dc.Client(server.target, timeout=2) as plaintext, pytest.raises(dc.DiscretionError):
        plaintext.check(chatham_quote())

    with grpc.insecure_channel(f"127.0.0.1:{health_port}") as channel:
        for name in ("", "discretion.v1.PolicyService", "liveness"):
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # Only health answers there: decisions stay behind TLS.
        ask = channel.unary_unary("/discretion.v1.PolicyService/ListAgreements",
                                  request_serializer=lambda _: b"", response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as refused:
            ask(None, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_renewed_certificate_is_served_to_new_connections(start_ops, tmp_path):
    cert, key = make_certificate(tmp_path, "first")
    server = start_ops(RULES, "--tls-cert", str(cert), "--tls-key", str(key), workers=1)
    with dc.Client(server.target, credentials=dc.TlsCredentials(root_certificates=cert.read_bytes())) as client:
        client.check(chatham_quote())
    renewed_cert, renewed_key = make_certificate(tmp_path, "second")
    shutil.copy(renewed_key, key)
    shutil.copy(renewed_cert, cert)
    trusting_the_new_one = dc.TlsCredentials(root_certificates=renewed_cert.read_bytes())
    with dc.Client(server.target, credentials=trusting_the_new_one) as client:
        assert client.check(chatham_quote()).decision == "allow_with_obligations"
