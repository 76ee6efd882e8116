"""The TypeScript and Go clients, each run by its own toolchain against real `discretion serve`s on loopback:
one plain, one serving mutual TLS to the tenants of tests/security (their certificates made here)."""

from __future__ import annotations

import pytest

from integration.conftest import RULES, RunningServer
from security.conftest import Authority, tenants_file


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The environment the clients' tests read: where each server is, and the secure one's certificates."""
    folder = tmp_path_factory.mktemp("tls")
    authority = Authority(folder)
    served = authority.issue("discretion.test", server=True)
    forum = authority.issue("forum.example.org")  # owns g-roundtable
    newsroom = authority.issue("newsroom.example.org")  # owns g-news-*: not the roundtable
    stranger = authority.issue("someone.example.org")  # no tenant's
    plain = RunningServer(RULES, "--workers", "2", "--metrics-address", "off")
    secure = RunningServer(RULES, "--workers", "1", "--metrics-address", "off", "--tls-cert", str(served.certificate),
                           "--tls-key", str(served.key), "--tls-client-ca", str(authority.path),
                           "--tenants", str(tenants_file(folder)))
    yield {
        "DISCRETION_TARGET": plain.target,
        "DISCRETION_TLS_TARGET": secure.target,
        "DISCRETION_TLS_CA": str(authority.path),
        **{f"DISCRETION_TLS_{who.upper()}_{part}": str(path)
           for who, issued in (("forum", forum), ("newsroom", newsroom), ("stranger", stranger))
           for part, path in (("CERT", issued.certificate), ("KEY", issued.key))},
    }
    plain.stop()
    secure.stop()
