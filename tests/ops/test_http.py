"""The HTTP/JSON face and the AuthZEN evaluation API: a real `discretion serve --http-address`, asked over HTTP.

Every answer is compared with what gRPC answers the same request, so the face can only differ where it says.
"""

from __future__ import annotations

import http.client
import json
import pathlib
import re
import ssl

import grpc
import pytest
from google.protobuf import json_format

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from integration.conftest import ROOT
from security.conftest import FORUM_TOKEN, NEWSROOM_TOKEN, Authority, tenants_file

from .conftest import RULES, eventually, log_lines

HTTP_LINE = re.compile(r'(?:discretion: |"message":")http on ([^\s"]+):(\d+)')
FIXTURES = pathlib.Path(__file__).parent / "authzen"
QUOTE = {
    "action": "ACTION_QUOTE",
    "actor": {"id": "u-ana", "displayName": "Ana Lopez", "organization": "Contoso", "member": True},
    "group": {"id": "g-roundtable",
              "adoptions": [{"agreement": "chatham-house", "version": 1, "effectiveFrom": "2026-02-01T00:00:00Z"}],
              "participants": [{"id": "u-chen", "displayName": "Li Chen", "organization": "Northwind Bank"}]},
    "items": [{"id": "m-1", "author": {"id": "u-chen", "displayName": "Li Chen", "organization": "Northwind Bank"},
               "postedAt": "2026-03-01T10:00:00Z"}],
    "destination": {"kind": "DESTINATION_KIND_PUBLIC"},
    "attribution": {"authorIdentity": True},
    "quotedText": "As Li Chen said, rates will rise.",
}


def http_port(server) -> int:
    return int(HTTP_LINE.search(server.log()).group(2))


def ask(server, method: str, path: str, body=None, headers=None, context: ssl.SSLContext | None = None,
        raw: bytes | None = None) -> tuple[int, dict, dict]:
    """(status, JSON body, headers) of one HTTP call."""
    port = http_port(server)
    connection = (http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30) if context
                  else http.client.HTTPConnection("127.0.0.1", port, timeout=30))
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=data, headers=sent)
    answer = connection.getresponse()
    text = answer.read()
    connection.close()
    return answer.status, json.loads(text) if text else {}, {k.lower(): v for k, v in answer.getheaders()}


def grpc_answer(server, method: str, request):
    with grpc.insecure_channel(server.target) as channel:
        return getattr(policy_pb2_grpc.PolicyServiceStub(channel), method)(request, timeout=30)


def without_ids(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key != "decisionId"}


@pytest.fixture(scope="module")
def face(tmp_path_factory):
    from integration.conftest import RunningServer

    log = tmp_path_factory.mktemp("http") / "decisions.jsonl"
    server = RunningServer(RULES, "--workers", "2", "--http-address", "127.0.0.1:0", "--decision-log", str(log),
                           "--metrics-address", "127.0.0.1:0")
    server.decisions = log
    yield server
    server.stop()


def test_a_check_over_http_is_the_grpc_answer_in_json(face):
    status, answer, headers = ask(face, "POST", "/v1/check", QUOTE, {"x-request-id": "http-req-1"})
    assert status == 200 and headers["content-type"] == "application/json"
    expected = json_format.MessageToDict(grpc_answer(face, "Check", json_format.ParseDict(QUOTE, pb.CheckRequest())))
    assert without_ids(answer) == without_ids(expected)
    assert answer["decision"] == "DECISION_ALLOW_WITH_OBLIGATIONS"
    assert re.fullmatch("[0-9a-f]{32}", answer["decisionId"]) and headers["discretion-decision-id"] == answer["decisionId"]
    eventually(lambda: any(line["decision_id"] == answer["decisionId"] for line in log_lines(face.decisions)))
    [line] = [line for line in log_lines(face.decisions) if line["decision_id"] == answer["decisionId"]]
    assert line["request_id"] == "http-req-1"


def test_a_batch_and_the_agreements_over_http(face):
    share = {**QUOTE, "action": "ACTION_SHARE", "destination": {"kind": "DESTINATION_KIND_SAME_GROUP"}, "quotedText": ""}
    status, answer, headers = ask(face, "POST", "/v1/check-batch", {"checks": [QUOTE, share]})
    assert status == 200
    assert [result["decision"] for result in answer["results"]] == ["DECISION_ALLOW_WITH_OBLIGATIONS", "DECISION_ALLOW"]
    assert headers["discretion-decision-id"] == ",".join(result["decisionId"] for result in answer["results"])
    status, listed, _ = ask(face, "GET", "/v1/agreements")
    assert status == 200
    assert listed == json_format.MessageToDict(grpc_answer(face, "ListAgreements", pb.ListAgreementsRequest()))


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "field"), [
    ("POST", "/v1/check", {**QUOTE, "actor": {"member": True}}, {}, 400, "actor.id"),
    ("POST", "/v1/check", {**QUOTE, "action": "ACTION_FLY"}, {}, 400, ""),  # not an enum name
    ("POST", "/v1/check", {**QUOTE, "audience": "everyone"}, {}, 400, ""),  # not a field: refused, not ignored
    ("POST", "/v1/check", b"{not json", {}, 400, ""),
    ("POST", "/v1/check", QUOTE, {"Content-Type": "text/plain"}, 400, "Content-Type"),
    ("GET", "/v1/check", None, {}, 501, None),
    ("POST", "/v2/check", QUOTE, {}, 404, None),
])
def test_a_request_that_cannot_be_answered_is_an_http_error_with_a_status_body(face, method, path, body, headers,
                                                                                 status, field):
    raw = body if isinstance(body, bytes) else None
    answered, answer, _ = ask(face, method, path, None if raw else body, headers, raw=raw)
    assert answered == status, answer
    assert set(answer) >= {"code", "message"} and isinstance(answer["code"], int)
    if field is not None:
        [bad] = [detail for detail in answer["details"] if detail["@type"].endswith("google.rpc.BadRequest")]
        assert field in [violation.get("field", "") for violation in bad["fieldViolations"]], bad


def test_a_body_over_the_message_limit_is_not_read(start_ops):
    server = start_ops(RULES, "--http-address", "127.0.0.1:0", "--max-message-bytes", "2048", workers=1)
    status, answer, _ = ask(server, "POST", "/v1/check", {**QUOTE, "quotedText": "x" * 4096})
    assert status == 429 and "at most 2048" in answer["message"]
    assert ask(server, "POST", "/v1/check", QUOTE)[0] == 200  # and the server answers the next


def test_the_face_is_counted_in_the_metrics(start_ops):
    server = start_ops(RULES, "--http-address", "127.0.0.1:0", workers=1)
    for _ in range(2):
        assert ask(server, "POST", "/v1/check", QUOTE)[0] == 200
    assert ask(server, "POST", "/v1/check", {"action": "ACTION_QUOTE"})[0] == 400
    assert server.sample("discretion_http_requests_total", path="/v1/check", code="200") == 2
    assert server.sample("discretion_http_requests_total", path="/v1/check", code="400") == 1
    assert server.sample("discretion_decisions_total", action="quote", decision="allow_with_obligations") == 2


def test_tenants_are_the_grpc_ones_bearer_tokens_and_client_certificates(start_ops, tmp_path):
    authority = Authority(tmp_path)
    served = authority.issue("discretion.test", server=True)
    server = start_ops(RULES, "--http-address", "127.0.0.1:0", "--tenants", str(tenants_file(tmp_path)),
                       "--tls-cert", str(served.certificate), "--tls-key", str(served.key), workers=1)
    trusting = ssl.create_default_context(cafile=str(authority.path))
    bearer = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
    assert ask(server, "POST", "/v1/check", QUOTE, bearer(FORUM_TOKEN), trusting)[0] == 200
    assert ask(server, "POST", "/v1/check", QUOTE, bearer(NEWSROOM_TOKEN), trusting)[0] == 403  # not its group
    assert ask(server, "POST", "/v1/check", QUOTE, {}, trusting)[0] == 401
    assert ask(server, "POST", "/access/v1/evaluation", _fixture("share-in-group.json")["request"], {},
               trusting)[0] == 401
    with pytest.raises(ssl.SSLError):  # TLS as the gRPC port: no plaintext HTTP beside it
        ask(server, "POST", "/v1/check", QUOTE, bearer(FORUM_TOKEN), ssl.create_default_context())


def test_mutual_tls_names_the_tenant_by_its_certificate(start_ops, tmp_path):
    authority = Authority(tmp_path)
    served = authority.issue("discretion.test", server=True)
    server = start_ops(RULES, "--http-address", "127.0.0.1:0", "--tenants", str(tenants_file(tmp_path)),
                       "--tls-cert", str(served.certificate), "--tls-key", str(served.key),
                       "--tls-client-ca", str(authority.path), workers=1)

    def presenting(name: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(authority.path))
        if name:
            issued = authority.issue(name)
            context.load_cert_chain(str(issued.certificate), str(issued.key))
        return context

    assert ask(server, "POST", "/v1/check", QUOTE, {}, presenting("forum.example.org"))[0] == 200
    assert ask(server, "POST", "/v1/check", QUOTE, {}, presenting("newsroom.example.org"))[0] == 403
    assert ask(server, "POST", "/v1/check", QUOTE, {}, presenting("someone.example.org"))[0] == 401
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        ask(server, "POST", "/v1/check", QUOTE, {}, presenting(None))


# ---- AuthZEN -------------------------------------------------------------------------------------------------


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.json")))
def test_authzen_evaluations_as_the_fixtures_say(face, name):
    fixture = _fixture(name)
    status, answer, _ = ask(face, "POST", fixture["path"], fixture["request"])
    assert status == fixture["status"], answer
    if status != 200:
        [bad] = [detail for detail in answer["details"] if detail["@type"].endswith("google.rpc.BadRequest")]
        assert [violation["field"] for violation in bad["fieldViolations"]] == fixture["violations"]
        return
    if "evaluations" in fixture:
        assert [one["decision"] for one in answer["evaluations"]] == fixture["evaluations"]
        assert all(re.fullmatch("[0-9a-f]{32}", one["context"]["decisionId"]) for one in answer["evaluations"])
        return
    assert answer["decision"] is fixture["decision"]
    context = answer["context"]
    assert context["decision"] == fixture["context"]["decision"]
    if "obligations" in fixture["context"]:
        assert sorted(o["type"] for o in context["obligations"]) == fixture["context"]["obligations"]


def test_an_allow_with_obligations_is_true_only_for_a_gateway_that_enforces_them(face):
    """Whatever else a request says, `decision: true` never comes with obligations the gateway did not
    promise to fulfil: the boolean is what a gateway that reads nothing else acts on."""
    plain = _fixture("quote-named-speaker.json")["request"]
    for enforces in (None, False, True):
        context = {**plain["context"], **({} if enforces is None else {"enforcesObligations": enforces})}
        _, answer, _ = ask(face, "POST", "/access/v1/evaluation", {**plain, "context": context})
        assert answer["context"]["obligations"]
        assert answer["decision"] is (enforces is True)
    _, answer, _ = ask(face, "POST", "/access/v1/evaluation",
                       {**plain, "context": {**plain["context"], "enforcesObligations": "yes"}})
    assert answer["code"] == 3  # not a boolean: refused, never read as true


def test_the_authzen_configuration_names_the_endpoints(face):
    status, answer, _ = ask(face, "GET", "/.well-known/authzen-configuration")
    base = f"http://127.0.0.1:{http_port(face)}"
    assert status == 200 and answer == {"policy_decision_point": base,
                                        "access_evaluation_endpoint": base + "/access/v1/evaluation",
                                        "access_evaluations_endpoint": base + "/access/v1/evaluations"}


def test_the_readme_curl_example_answers_what_the_readme_shows(face):
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- example: curl -->\n```sh\n(.*?)```", readme, re.S).group(1)
    body = json.loads(re.search(r"-d '(.*?)'", command, re.S).group(1))
    shown = json.loads(re.search(r"<!-- output: curl -->\n```json\n(.*?)```", readme, re.S).group(1))
    status, answer, _ = ask(face, "POST", "/v1/check", body)
    assert status == 200
    masked = lambda found: {**found, "decisionId": "…", "policyRevision": "…"}  # noqa: E731
    assert masked(answer) == masked(shown)


def test_a_stop_lets_the_requests_in_flight_finish_and_refuses_new_ones_on_kept_connections():
    """The face's drain, on a real socket, with a route that holds its answer until the test lets it go."""
    import threading
    import time

    from discretion.server.config import ServerSettings
    from discretion.server.http import create_http_server, serve_in_background

    holding, release = threading.Event(), threading.Event()

    def slow(body, call):
        holding.set()
        release.wait(10)
        return {"done": True}

    server, port = create_http_server(ServerSettings(http_address="127.0.0.1:0"),
                                      {("POST", "/slow"): slow, ("POST", "/fast"): lambda body, call: {}},
                                      lambda path, code: None)
    serve_in_background(server)
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    kept.request("POST", "/fast", body=b"{}", headers={"Content-Type": "application/json"})
    assert kept.getresponse().read() == b"{}"
    answers = []
    slow_call = threading.Thread(target=lambda: answers.append(_post(port, "/slow")))
    slow_call.start()
    assert holding.wait(10)
    drained = threading.Thread(target=server.drain, args=(10,))
    drained.start()
    time.sleep(0.3)
    assert drained.is_alive()  # waiting for the call in flight
    kept.request("POST", "/fast", body=b"{}", headers={"Content-Type": "application/json"})
    refused = kept.getresponse()
    assert refused.status == 503 and refused.getheader("Connection") == "close"
    release.set()
    drained.join(10)
    slow_call.join(10)
    assert not drained.is_alive() and answers == [(200, {"done": True})]
    server.server_close()


def _post(port: int, path: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


# ---- what a hostile or careless client sends -----------------------------------------------------------------


def raw(server, data: bytes, *, timeout: float = 10) -> bytes:
    """Everything the server sends back for `data` on one connection, until it closes it."""
    import socket

    with socket.create_connection(("127.0.0.1", http_port(server)), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def _request(method: str, path: str, body: bytes, headers: str = "Content-Type: application/json\r\n") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.mark.parametrize("first", ["unknown path", "wrong type", "get with a body"])
def test_a_body_left_unread_is_never_read_as_the_next_request(face, first):
    smuggled = _request("POST", "/v1/check", json.dumps(QUOTE).encode())
    data = {"unknown path": _request("POST", "/v1/nothing", smuggled),
            "wrong type": _request("POST", "/v1/check", smuggled, "Content-Type: text/plain\r\n"),
            "get with a body": _request("GET", "/v1/agreements", smuggled)}[first]
    answered = raw(face, data)
    assert answered.count(b"HTTP/1.1 ") == 1, answered[:400]  # one answer, then the connection ends
    assert not answered.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("headers", [
    "Content-Type: application/json\r\nContent-Length: 2\r\n",  # two lengths: which one?
    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
])
def test_framing_that_two_readers_could_read_differently_is_refused(face, headers):
    body = json.dumps(QUOTE).encode()
    answered = raw(face, _request("POST", "/v1/check", body, headers))
    assert answered.startswith(b"HTTP/1.1 400"), answered[:200]
    plus = (f"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: +{len(body)}\r\n\r\n").encode() + body
    assert raw(face, plus).startswith(b"HTTP/1.1 400")


def test_http_servers_own_refusals_are_json_and_close_the_connection(face):
    answered = raw(face, b"BREW /v1/check HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = answered.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501") and b"Connection: close" in head
    assert set(json.loads(body)) == {"code", "message"}


def test_a_message_larger_than_grpc_takes_is_refused_whatever_the_size_of_its_json(start_ops):
    server = start_ops(RULES, "--http-address", "127.0.0.1:0", "--max-message-bytes", "4096", workers=1)
    attributes = {f"k{n}": 1 for n in range(300)}  # ~3.4 KB of JSON, ~6 KB as a message
    body = json.dumps({**QUOTE, "attributes": attributes}, separators=(",", ":")).encode()
    assert len(body) < 4096
    status, answer, _ = ask(server, "POST", "/v1/check", raw=body)
    assert status == 429 and "as a message" in answer["message"]


def test_a_worker_takes_a_bounded_number_of_connections(start_ops):
    import socket

    from discretion.server.http import _CONNECTIONS

    server = start_ops(RULES, "--http-address", "127.0.0.1:0", workers=1)
    held = [socket.create_connection(("127.0.0.1", http_port(server)), timeout=10) for _ in range(_CONNECTIONS)]
    try:
        import time

        time.sleep(0.5)
        extra = socket.create_connection(("127.0.0.1", http_port(server)), timeout=10)
        extra.sendall(_request("POST", "/v1/check", json.dumps(QUOTE).encode()))
        assert extra.recv(100) == b""  # closed at once: no thread for it
        extra.close()
    finally:
        for connection in held:
            connection.close()
    eventually(lambda: ask(server, "POST", "/v1/check", QUOTE)[0] == 200)  # and the worker answers again


def test_a_renewed_client_ca_is_the_only_one_trusted_from_the_next_connection(start_ops, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = Authority(tmp_path / "a", "CA A"), Authority(tmp_path / "b", "CA B")
    served = first.issue("discretion.test", server=True)
    client_ca = tmp_path / "client-ca.pem"
    client_ca.write_bytes(first.pem())
    server = start_ops(RULES, "--http-address", "127.0.0.1:0", "--tenants", str(tenants_file(tmp_path)),
                       "--tls-cert", str(served.certificate), "--tls-key", str(served.key),
                       "--tls-client-ca", str(client_ca), workers=1)

    def presenting(authority: Authority) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(first.path))
        issued = authority.issue("forum.example.org")
        context.load_cert_chain(str(issued.certificate), str(issued.key))
        return context

    assert ask(server, "POST", "/v1/check", QUOTE, {}, presenting(first))[0] == 200
    client_ca.write_bytes(second.pem())  # the operator removes CA A
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        ask(server, "POST", "/v1/check", QUOTE, {}, presenting(first))
    assert ask(server, "POST", "/v1/check", QUOTE, {}, presenting(second))[0] == 200


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: {**r, "action": {**r["action"], "properties": {"attribution": {"authorIdentity": True}}}},
     "action.properties"),
    (lambda r: {**r, "attribution": {"authorIdentity": True}}, "attribution"),
    (lambda r: {**r, "subject": {**r["subject"], "attribution": {}}}, "subject.attribution"),
    (lambda r: {**r, "subject": {**r["subject"], "type": ["user"]}}, "subject.type"),
    (lambda r: {**r, "evaluations": [{}]}, "evaluations"),  # a list of evaluations is /evaluations' to read
])
def test_authzen_refuses_what_it_does_not_map_rather_than_ignore_it(face, change, field):
    request = change(_fixture("quote-named-speaker.json")["request"])
    status, answer, _ = ask(face, "POST", "/access/v1/evaluation", request)
    assert status == 400, answer
    [bad] = [detail for detail in answer["details"] if detail["@type"].endswith("google.rpc.BadRequest")]
    assert [violation["field"] for violation in bad["fieldViolations"]] == [field]


def test_authzen_refuses_a_key_given_twice_and_options_it_does_not_know(face):
    body = json.dumps(_fixture("quote-named-speaker.json")["request"])
    doubled = body[:-1] + ', "context": {"enforcesObligations": true}}'  # the last would win in most readers
    status, answer, _ = ask(face, "POST", "/access/v1/evaluation", raw=doubled.encode())
    assert status == 400 and "given twice" in answer["message"]
    evaluations = _fixture("evaluations-execute-all.json")["request"]
    for options in ([], {"evaluationsSemantic": "deny_on_first_deny"}):
        assert ask(face, "POST", "/access/v1/evaluations", {**evaluations, "options": options})[0] == 400


def test_the_configuration_never_names_a_host_a_caller_made_up(face):
    _, answer, _ = ask(face, "GET", "/.well-known/authzen-configuration", headers={"Host": "evil.example/x?"})
    assert answer["policy_decision_point"] == "http://localhost"
