"""Real TLS handshakes against `discretion serve`, with certificates made at test time.

One-way TLS, mutual TLS (no certificate or a stranger's is refused), tenants
named by their client certificate (its DNS names; never a URI or e-mail name,
never two callers at once), and a rewritten certificate served to new
connections without a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import grpc
import pytest
import yaml

import discretion_client as dc
from discretion.server.auth import certificate_name
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from ops.conftest import chatham_quote

from .conftest import RULES, Authority, Issued, tenants_file


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


@pytest.fixture
def mutual(start_server, authority, tmp_path):
    served = authority.issue("discretion.test", server=True)
    return start_server("--tls-cert", str(served.certificate), "--tls-key", str(served.key),
                        "--tls-client-ca", str(authority.path), "--tenants", str(tenants_file(tmp_path)))


def named(server, authority, issued) -> str:
    """Who the server takes the certificate's holder for: forum, newsroom, admin or nobody."""
    with client(server, authority.pem(), issued) as caller:
        try:
            caller.check(chatham_quote())  # g-roundtable: the forum's
            return "forum"
        except dc.UnauthenticatedError:
            return "nobody"
        except dc.PermissionDeniedError:
            chain, key = issued.pem()
            with grpc.secure_channel(server.target, grpc.ssl_channel_credentials(authority.pem(), key, chain)) as c:
                try:
                    policy_pb2_grpc.PolicyServiceStub(c).GetPolicyStatus(pb.GetPolicyStatusRequest(), timeout=10)
                    return "admin"
                except grpc.RpcError:
                    return "newsroom"


# (common name, DNS names, URIs, e-mails) -> who it names. tenants_file: forum.example.org,
# newsroom.example.org, and ops.example.org for the admin.
CERTIFICATES = {
    "common name, no SAN": (("forum.example.org", (), (), ()), "forum"),
    "DNS SAN": (("Forum Ltd", ("forum.example.org",), (), ()), "forum"),
    "DNS SAN, other case and a trailing dot": (("Forum Ltd", ("FORUM.Example.org.",), (), ()), "forum"),
    "DNS SAN and a name nobody has": (("x", ("forum.example.org", "cdn.example.net"), (), ()), "forum"),
    "admin by DNS SAN": (("Ops", ("ops.example.org",), (), ()), "admin"),
    "newsroom by DNS SAN": (("Newsroom", ("newsroom.example.org",), (), ()), "newsroom"),
    "URI SAN with a tenant's name": (("Forum Ltd", (), ("forum.example.org",), ()), "nobody"),
    "e-mail SAN with a tenant's name": (("Forum Ltd", (), (), ("forum.example.org",)), "nobody"),
    "e-mail SAN at a tenant's domain": (("x", (), (), ("ops@ops.example.org",)), "nobody"),
    "common name beside a SAN": (("forum.example.org", ("cdn.example.net",), (), ()), "nobody"),
    "common name beside a URI SAN only": (("forum.example.org", (), ("spiffe://example.org/forum",), ()), "nobody"),
    "wildcard DNS SAN": (("x", ("*.example.org",), (), ()), "nobody"),
    "two tenants": (("x", ("forum.example.org", "newsroom.example.org"), (), ()), "nobody"),
    "a tenant and the admin": (("x", ("forum.example.org", "ops.example.org"), (), ()), "nobody"),
    # gRPC's own summary of a certificate cuts names at a NUL byte: read from the certificate, they name nobody.
    "DNS SAN with a NUL after a tenant's name": (("x", ("forum.example.org\x00.attacker.test",), (), ()), "nobody"),
    "common name with a NUL after a tenant's name": (("forum.example.org\x00.attacker.test", (), (), ()), "nobody"),
    "a NUL-cut tenant beside another name": (("x", ("newsroom.example.org\x00.x", "forum.example.org"), (), ()),
                                            "forum"),
    # Nothing is folded into a listed name.
    "common name with a trailing blank": (("forum.example.org ", (), (), ()), "nobody"),
    "common name with a no-break space": (("forum.example.org\u00a0", (), (), ()), "nobody"),
    "DNS SAN with a leading tab": (("x", ("\tforum.example.org",), (), ()), "nobody"),
    "common name with a look-alike": (("f\u043erum.example.org", (), (), ()), "nobody"),
}


def test_a_client_certificate_names_a_caller_only_by_its_dns_names(mutual, authority):
    seen = {}
    for case, ((common_name, dns, uris, emails), _) in CERTIFICATES.items():
        issued = authority.issue(common_name, dns=dns, uris=uris, emails=emails, file=case)
        seen[case] = named(mutual, authority, issued)
    assert seen == {case: expected for case, (_, expected) in CERTIFICATES.items()}
    assert mutual.wait_for_log(r"a client certificate was refused: the certificate naming `forum\.example\.org`, "
                               r"`newsroom\.example\.org` names `forum`, `newsroom`")
    assert mutual.wait_for_log(r"names `forum`, `admin`")


def test_a_certificate_with_two_common_names_and_no_san_names_nobody(mutual, authority, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forum.example.org"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "newsroom.example.org")])
    certificate = (authority._builder(subject, authority.certificate.subject, key.public_key())
                   .sign(authority.key, hashes.SHA256()))
    issued = Issued(tmp_path / "two.pem", tmp_path / "two.key")
    issued.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    issued.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    assert named(mutual, authority, issued) == "nobody"
    assert mutual.wait_for_log(r"has 2 common names and no subject alternative name")


def test_a_name_is_compared_as_an_ascii_host_name_and_never_folded_into_one():
    assert certificate_name("FORUM.Example.org.") == "forum.example.org"
    for name in ("\u212aey.example.org", "forum.example.org ", "*.example.org", "a..example.org", "-a.example.org",
                 "forum.example.org\x00.x", "ｆorum.example.org", "a" * 64 + ".example.org", ""):
        assert certificate_name(name) == "", name


@pytest.mark.parametrize("names, says", [
    (["*.example.org"], "no wildcard"),
    (["Ops Team"], "is not one DNS host name"),
    (["forum.example.org", "FORUM.example.org."], "a credential is given to two callers"),
])
def test_a_certificate_name_that_names_many_or_twice_is_refused_at_start(tmp_path, names, says):
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": [
        {"id": "forum", "certificates": names[:1], "groups": ["g-forum-*"], "agreements": []},
        {"id": "other", "certificates": names[1:], "groups": ["g-other-*"], "agreements": []}]}))
    result = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--tenants",
                             str(path), "--address", "127.0.0.1:0", "--workers", "1", "--metrics-address", "off"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert says in result.stderr
