"""Real TLS handshakes against `discretion serve`, with certificates made at test time.

One-way TLS, mutual TLS (no certificate or a stranger's is refused), tenants
named by their client certificate, and a rewritten certificate served to new
connections without a restart.
"""

from __future__ import annotations

import shutil

import grpc
import pytest

import discretion_client as dc
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from ops.conftest import chatham_quote

from .conftest import Authority, tenants_file


@pytest.fixture
def authority(tmp_path):
    return Authority(tmp_path)


def client(server, roots: bytes, issued=None) -> dc.Client:
    chain, key = issued.pem() if issued else (None, None)
    return dc.Client(server.target, timeout=5,
                     credentials=dc.TlsCredentials(root_certificates=roots, certificate_chain=chain, private_key=key))


def test_a_tls_handshake_with_a_trusted_server_certificate(start_server, authority, tmp_path):
    served = authority.issue("discretion.test", server=True)
    server = start_server("--tls-cert", str(served.certificate), "--tls-key", str(served.key))
    with client(server, authority.pem()) as trusting:
        assert trusting.check(chatham_quote()).decision == "allow_with_obligations"
    (tmp_path / "elsewhere").mkdir()
    stranger = Authority(tmp_path / "elsewhere", "Other CA")
    with client(server, stranger.pem()) as distrusting, pytest.raises(dc.UnavailableError):
        distrusting.check(chatham_quote())
    with dc.Client(server.target, timeout=5) as plaintext, pytest.raises(dc.DiscretionError):
        plaintext.check(chatham_quote())


def test_mutual_tls_refuses_a_client_without_a_certificate_the_ca_signed(start_server, authority, tmp_path):
    served = authority.issue("discretion.test", server=True)
    server = start_server("--tls-cert", str(served.certificate), "--tls-key", str(served.key),
                          "--tls-client-ca", str(authority.path))
    with client(server, authority.pem(), authority.issue("forum.example.org")) as known:
        assert known.check(chatham_quote()).decision == "allow_with_obligations"
    with client(server, authority.pem()) as anonymous, pytest.raises(dc.UnavailableError):
        anonymous.check(chatham_quote())
    (tmp_path / "rogue").mkdir()
    rogue = Authority(tmp_path / "rogue", "Rogue CA").issue("forum.example.org")
    with client(server, authority.pem(), rogue) as impostor, pytest.raises(dc.UnavailableError):
        impostor.check(chatham_quote())


def test_a_client_certificate_names_the_tenant(start_server, authority, tmp_path):
    served = authority.issue("discretion.test", server=True)
    server = start_server("--tls-cert", str(served.certificate), "--tls-key", str(served.key),
                          "--tls-client-ca", str(authority.path), "--tenants", str(tenants_file(tmp_path)))
    with client(server, authority.pem(), authority.issue("forum.example.org")) as forum:
        assert forum.check(chatham_quote()).decision == "allow_with_obligations"
    # Named by a subject alternative name, not the common name.
    newsroom_cert = authority.issue("Newsroom Ltd", dns=("newsroom.example.org",))
    with client(server, authority.pem(), newsroom_cert) as newsroom, pytest.raises(dc.PermissionDeniedError):
        newsroom.check(chatham_quote())  # g-roundtable belongs to the forum
    with client(server, authority.pem(), authority.issue("someone.example.org")) as unknown, \
            pytest.raises(dc.UnauthenticatedError):
        unknown.check(chatham_quote())
    ops = authority.issue("ops.example.org")
    chain, key = ops.pem()
    credentials = grpc.ssl_channel_credentials(authority.pem(), key, chain)
    with grpc.secure_channel(server.target, credentials) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        assert stub.GetPolicyStatus(pb.GetPolicyStatusRequest(), timeout=10).policy_revision


def test_rewritten_certificate_files_are_served_to_new_connections(start_server, authority, tmp_path):
    served = authority.issue("discretion.test", server=True)
    server = start_server("--tls-cert", str(served.certificate), "--tls-key", str(served.key))
    with client(server, authority.pem()) as before:
        before.check(chatham_quote())
    (tmp_path / "renewed").mkdir()
    renewing = Authority(tmp_path / "renewed", "Renewed CA")
    renewed = renewing.issue("discretion.test", server=True)
    shutil.copy(renewed.key, served.key)
    shutil.copy(renewed.certificate, served.certificate)
    with client(server, renewing.pem()) as after:
        assert after.check(chatham_quote()).decision == "allow_with_obligations"
    with client(server, authority.pem()) as stale, pytest.raises(dc.UnavailableError):
        stale.check(chatham_quote())
