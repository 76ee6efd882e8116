"""Tenants over a real `discretion serve`: each platform asks only about its own groups.

The refusals must not tell one tenant anything about another: a group another
tenant owns and a group nobody owns get the same status and the same words.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest

import discretion_client as dc
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from integration.conftest import RunningServer
from ops.conftest import ROUNDTABLE, chatham_quote, eventually

from .conftest import ADMIN_TOKEN, FORUM_TOKEN, NEWSROOM_TOKEN, RULES, sha256, tenants_file


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tenants")
    running = RunningServer(RULES, "--metrics-address", "off", "--workers", "1", "--tenants", str(tenants_file(folder)))
    yield running
    running.stop()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def in_group(group_id: str) -> dc.CheckRequest:
    return chatham_quote(group=dc.Group(id=group_id, adoptions=ROUNDTABLE.adoptions,
                                        participants=ROUNDTABLE.participants))


def test_a_tenant_decides_for_the_groups_it_owns(server):
    with dc.Client(server.target, metadata=bearer(FORUM_TOKEN)) as forum:
        assert forum.check(chatham_quote()).decision == "allow_with_obligations"  # g-roundtable, owned by id
        assert forum.check(in_group("g-forum-42")).decision == "allow_with_obligations"  # owned by prefix
    with dc.Client(server.target, metadata=bearer(NEWSROOM_TOKEN)) as newsroom:
        assert newsroom.check(in_group("g-news-1")).decision == "allow_with_obligations"


def test_another_tenants_group_is_denied_exactly_as_a_group_nobody_owns(server):
    refusals = []
    with dc.Client(server.target, metadata=bearer(NEWSROOM_TOKEN)) as newsroom:
        for group in ("g-roundtable", "g-forum-42", "g-nobody-has-this"):
            with pytest.raises(dc.PermissionDeniedError) as denied:
                newsroom.check(in_group(group))
            refusals.append((denied.value.code, denied.value.details))
    assert refusals == [("PERMISSION_DENIED", "not permitted for this group")] * 3


def test_one_foreign_group_refuses_the_whole_batch(server):
    with dc.Client(server.target, metadata=bearer(FORUM_TOKEN)) as forum:
        assert len(forum.check_batch([chatham_quote(), in_group("g-forum-1")])) == 2
        with pytest.raises(dc.PermissionDeniedError):
            forum.check_batch([chatham_quote(), in_group("g-news-1")])


@pytest.mark.parametrize("metadata", [None, bearer("not-a-token"), {"authorization": f"Basic {FORUM_TOKEN}"},
                                      bearer(sha256(FORUM_TOKEN))])
def test_a_missing_or_wrong_credential_is_unauthenticated(server, metadata):
    with dc.Client(server.target, metadata=metadata) as caller:
        for call in (lambda: caller.check(chatham_quote()), caller.list_agreements):
            with pytest.raises(dc.UnauthenticatedError) as refused:
                call()
            assert refused.value.details == "missing or invalid credentials"


def test_a_credential_is_checked_before_a_byte_of_the_request_is_read(server):
    not_utf8 = b"\x52\x02\xff\xfe"  # quoted_text, two bytes that are not UTF-8
    with grpc.insecure_channel(server.target) as channel:
        call = channel.unary_unary("/discretion.v1.PolicyService/Check", request_serializer=None,
                                   response_deserializer=pb.CheckResponse.FromString)
        with pytest.raises(grpc.RpcError) as refused:
            call(not_utf8, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as refused:
            call(not_utf8, timeout=10, metadata=(("authorization", f"Bearer {FORUM_TOKEN}"),))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_agreements_are_listed_per_tenant(server):
    with dc.Client(server.target, metadata=bearer(FORUM_TOKEN)) as forum:
        # Its own, and those in force for every group (tests/security/test_tenant_agreements.py has the rest).
        assert [a.id for a in forum.list_agreements()] == ["chatham-house", "data-rights", "platform-baseline"]
    with dc.Client(server.target, metadata=bearer(NEWSROOM_TOKEN)) as newsroom:  # no list: every agreement
        assert len(newsroom.list_agreements()) > 1


def status(server, metadata) -> pb.GetPolicyStatusResponse:
    with grpc.insecure_channel(server.target) as channel:
        return policy_pb2_grpc.PolicyServiceStub(channel).GetPolicyStatus(
            pb.GetPolicyStatusRequest(), metadata=metadata, timeout=10)


def test_policy_status_needs_the_admin_credential(server):
    assert status(server, (("authorization", f"Bearer {ADMIN_TOKEN}"),)).policy_revision
    for metadata, code in ((None, grpc.StatusCode.UNAUTHENTICATED),
                           ((("authorization", f"Bearer {FORUM_TOKEN}"),), grpc.StatusCode.PERMISSION_DENIED)):
        with pytest.raises(grpc.RpcError) as refused:
            status(server, metadata)
        assert refused.value.code() == code


def test_the_admin_credential_is_not_a_tenant(server):
    with dc.Client(server.target, metadata=bearer(ADMIN_TOKEN)) as admin, pytest.raises(dc.PermissionDeniedError):
        admin.check(chatham_quote())


def test_hash_token_prints_what_the_tenants_file_stores():
    result = subprocess.run([sys.executable, "-m", "discretion", "hash-token"], input=f"{FORUM_TOKEN}\n",
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, sha256(FORUM_TOKEN))


def test_a_token_in_clear_in_the_tenants_file_is_refused_at_start(tmp_path):
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - id: forum\n    tokens: [hunter2]\n    groups: ['*']\n")
    result = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--tenants",
                             str(path), "--address", "127.0.0.1:0", "--workers", "1", "--metrics-address", "off"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "never in clear" in result.stderr


@pytest.mark.parametrize("tenants, says", [
    # Every entry commented out leaves no value: not "every agreement".
    # Every entry commented out leaves no value, and a file cut short mid-write may lose the line: never "every one".
    ("  - id: forum\n    groups: [g-forum-*]\n    agreements:\n      # - chatham-house\n", "`agreements` is required"),
    ("  - id: forum\n    groups: [g-forum-*]\n", "`agreements` is required"),
    # PyYAML alone keeps the last of two keys: an appended line would widen the tenant.
    ("  - id: forum\n    groups: [g-forum-*]\n    agreements: [chatham-house]\n    agreements: '*'\n",
     "duplicate key `agreements`"),
    ("  - id: forum\n    groups: [g-a-*]\n    agreements: []\n  - id: club\n    groups: [g-a-b*]\n    agreements: []\n",
     "both own `g-a-*`"),
    ("  - id: forum\n    groups: [g-1]\n    agreements: []\n  - id: club\n    groups: [g-x, g-1]\n    agreements: []\n",
     "both own `g-1`"),
    ("  - id: forum\n    groups: ['*']\n    agreements: []\n  - id: club\n    groups: [g-2]\n    agreements: []\n",
     "both own `*`"),
    # An id that rewrites the operator's terminal line when logged.
    ('  - id: "forum\\e[2K\\rclub"\n    groups: [g-1]\n    agreements: []\n',
     ":2:9: the text holds a control or invisible character"),
])
def test_a_tenants_file_that_could_widen_a_tenant_by_accident_is_refused(tmp_path, tenants, says):
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n" + tenants)
    result = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--tenants",
                             str(path), "--address", "127.0.0.1:0", "--workers", "1", "--metrics-address", "off"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert says in result.stderr


def test_a_rotated_token_takes_effect_without_a_restart_and_a_broken_file_keeps_the_last_good(start_server, tmp_path):
    path = tenants_file(tmp_path)
    server = start_server("--tenants", str(path))
    rotated = "forum-token-rotated-0123456789"
    with dc.Client(server.target, metadata=bearer(FORUM_TOKEN)) as old, \
            dc.Client(server.target, metadata=bearer(rotated)) as new:
        assert old.check(chatham_quote()).decision == "allow_with_obligations"
        path.write_text(path.read_text().replace(sha256(FORUM_TOKEN), sha256(rotated)))

        def refuses_old_and_takes_new() -> bool:
            try:
                old.check(chatham_quote())
                return False
            except dc.UnauthenticatedError:
                return new.check(chatham_quote()).decision == "allow_with_obligations"

        eventually(refuses_old_and_takes_new, timeout=10, message="the rotated token never took effect")
        path.write_text("tenants: [oops")  # mid-edit: does not parse
        assert server.wait_for_log(r"tenants not reloaded, the last good ones stay in force"), server.log()
        assert new.check(chatham_quote()).decision == "allow_with_obligations"
        with pytest.raises(dc.UnauthenticatedError):
            old.check(chatham_quote())


def test_a_replacement_worker_starts_from_the_last_good_tenants(tmp_path):
    """Rotated, then broken: a worker restarted now must refuse the old token like the others."""
    path = tenants_file(tmp_path)
    # At debug level each process says what it read (the supervisor for all at info, its workers at debug).
    server = RunningServer(RULES, "--metrics-address", "off", "--workers", "2", "--tenants", str(path),
                           "--log-level", "debug")
    try:
        rotated = "forum-token-rotated-after-start"
        path.write_text(path.read_text().replace(sha256(FORUM_TOKEN), sha256(rotated)))
        time.sleep(2.5)  # the supervisor and both workers have read it by now
        path.write_text("tenants: [oops")  # and now it does not parse: the rotated tenants stay in force
        assert server.wait_for_log(r"(?s)tenants not reloaded.*tenants not reloaded.*tenants not reloaded"), \
            server.log()
        victim = min(_workers(server))
        os.kill(victim, signal.SIGKILL)
        assert server.wait_for_log(r"worker \d restarted as pid \d+"), server.log()
        eventually(lambda: len(_workers(server)) == 2 and victim not in _workers(server))
        time.sleep(2.0)  # the replacement serves by now
        for _ in range(12):  # new connections, spread over both workers, the new one included
            with dc.Client(server.target, metadata=bearer(FORUM_TOKEN)) as old:
                with pytest.raises(dc.UnauthenticatedError):
                    old.check(chatham_quote())
            with dc.Client(server.target, metadata=bearer(rotated)) as new:
                assert new.check(chatham_quote()).decision == "allow_with_obligations"
    finally:
        server.stop()


def _workers(server: RunningServer) -> set[int]:
    children = f"/proc/{server.process.pid}/task/{server.process.pid}/children"
    with open(children) as listed:
        return {int(pid) for pid in listed.read().split()
                if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read()}


def test_a_tenants_file_cut_short_mid_write_never_widens_a_tenant(start_server, tmp_path):
    """The file is re-read every second: a copy cut just before a tenant's `agreements:` line must not open it up."""
    path = tmp_path / "tenants.yaml"
    whole = (f"tenants:\n  - id: forum\n    tokens: [{sha256(FORUM_TOKEN)}]\n    groups: [g-forum-*, g-roundtable]\n"
             "    agreements: [chatham-house]\n")
    path.write_text(whole)
    server = start_server("--tenants", str(path))
    with dc.Client(server.target, metadata=bearer(FORUM_TOKEN)) as forum:
        before = [a.id for a in forum.list_agreements()]
        path.write_text(whole[:whole.index("    agreements:")])
        assert server.wait_for_log(r"tenants not reloaded, the last good ones stay in force: .*`agreements` is required")
        assert [a.id for a in forum.list_agreements()] == before == ["chatham-house", "data-rights", "platform-baseline"]
