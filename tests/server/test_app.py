"""The server as a process: health, reflection, the first load, a fix picked up, signals, a graceful stop."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from discretion.server import servicer
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server.app import create_server, serve
from discretion.server.config import ServerSettings
from discretion.store.files import compile_directory

from .support import RULES, Lines, StaticHolder, check, policy_stub, running

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE = "discretion.v1.PolicyService"
SERVING_LINE = re.compile(r"^discretion: serving on 127\.0\.0\.1:(\d+)$", re.M)


def health_of(channel: grpc.Channel, service: str = "") -> int:
    request = health_pb2.HealthCheckRequest(service=service)
    return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def eventually(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def refuses_new_calls(channel: grpc.Channel) -> bool:
    try:
        policy_stub(channel).ListAgreements(pb.ListAgreementsRequest(), timeout=1)
    except grpc.RpcError as error:
        return error.code() == grpc.StatusCode.UNAVAILABLE
    return False


def break_rules(folder: pathlib.Path) -> None:
    for path in folder.glob("*.yaml"):
        path.unlink()
    (folder / "broken.yaml").write_text("agreement: [unclosed\n")


def fix_rules(folder: pathlib.Path) -> None:
    (folder / "broken.yaml").unlink()
    for path in RULES.glob("*.yaml"):
        shutil.copy(path, folder / path.name)


# ---- create_server ------------------------------------------------------------


@pytest.mark.parametrize("service", ["", SERVICE])
def test_health_is_not_serving_without_rules_and_serving_with_them(service):
    with running(StaticHolder(None)) as channel:
        assert health_of(channel, service) == NOT_SERVING
    with running(StaticHolder(compile_directory(RULES))) as channel:
        assert health_of(channel, service) == SERVING


def test_reflection_lists_the_services():
    with running(StaticHolder(None)) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        [answer] = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for s in answer.list_services_response.service}
    assert names == {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def test_a_port_in_use_is_refused_rather_than_shared():
    first, port = create_server(ServerSettings(address="127.0.0.1:0"), StaticHolder(None))
    first.start()
    try:
        stderr = Lines()
        assert serve(ServerSettings(rules_dir=RULES, address=f"127.0.0.1:{port}"), stderr=stderr) == 2
    finally:
        first.stop(None)
    assert stderr.text.startswith(f"discretion: cannot listen on `127.0.0.1:{port}`")


# ---- serve ------------------------------------------------------------------------


def test_broken_rules_serve_unavailable_until_a_fix_is_picked_up(tmp_path):
    break_rules(tmp_path)
    stderr, stop, exit_codes = Lines(), threading.Event(), []
    settings = ServerSettings(rules_dir=tmp_path, address="127.0.0.1:0", watch_interval=0.05, grace=1)
    thread = threading.Thread(target=lambda: exit_codes.append(serve(settings, stderr=stderr, stop=stop)))
    thread.start()
    try:
        port = SERVING_LINE.search(stderr.wait_for("discretion: serving on")).group(1)
        assert "broken.yaml" in stderr.text  # the diagnostics, for the operator
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert health_of(channel) == NOT_SERVING
            with pytest.raises(grpc.RpcError) as raised:
                policy_stub(channel).Check(check(), timeout=5)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE

            fix_rules(tmp_path)
            eventually(lambda: health_of(channel, SERVICE) == SERVING)
            assert policy_stub(channel).Check(check(), timeout=5).decision == pb.DECISION_ALLOW
    finally:
        stop.set()
        thread.join(timeout=10)
    assert exit_codes == [0]
    assert stderr.text.endswith("discretion: stopped\n")
    assert len(SERVING_LINE.findall(stderr.text)) == 1


class SlowDecide:
    """Stands in for decide() and holds each call until released, so a call can be kept in flight."""

    def __init__(self, real):
        self.real, self.entered, self.release = real, threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        self.entered.set()
        self.release.wait(10)
        return self.real(*args, **kwargs)


def serve_on_main_thread(settings: ServerSettings, world) -> tuple[int, Lines]:
    """Run serve() on this thread, where signals are handled, while `world(channel, stderr)` runs beside it."""
    stderr, stop, failures = Lines(), threading.Event(), []

    def run_world() -> None:
        try:
            port = SERVING_LINE.search(stderr.wait_for("discretion: serving on")).group(1)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                world(channel, stderr)
        except BaseException as error:  # re-raised on the main thread
            failures.append(error)
        finally:
            stop.set()  # whatever happened, let serve() return

    helper = threading.Thread(target=run_world)
    helper.start()
    code = serve(settings, stderr=stderr, stop=stop)
    helper.join(timeout=10)
    if failures:
        raise failures[0]
    return code, stderr


def test_sighup_reloads_the_rules(tmp_path):
    break_rules(tmp_path)

    def world(channel, stderr):
        assert health_of(channel) == NOT_SERVING
        fix_rules(tmp_path)
        os.kill(os.getpid(), signal.SIGHUP)  # the watcher, once an hour, is too slow to be the one
        eventually(lambda: health_of(channel) == SERVING)

    handlers_before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    settings = ServerSettings(rules_dir=tmp_path, address="127.0.0.1:0", watch_interval=3600)
    code, _ = serve_on_main_thread(settings, world)
    assert code == 0
    assert {s: signal.getsignal(s) for s in handlers_before} == handlers_before  # given back


def test_sigterm_stops_taking_calls_and_lets_the_one_in_flight_finish(monkeypatch):
    slow = SlowDecide(servicer.decide)
    monkeypatch.setattr(servicer, "decide", slow)
    answers = []

    def world(channel, stderr):
        in_flight = policy_stub(channel).Check.future(check(), timeout=10)
        assert slow.entered.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)
        eventually(lambda: refuses_new_calls(channel))
        slow.release.set()
        answers.append(in_flight.result().decision)

    # The reference decides: its `decide` is the one held in flight.
    settings = ServerSettings(rules_dir=RULES, address="127.0.0.1:0", grace=10, engine="reference")
    code, stderr = serve_on_main_thread(settings, world)
    assert (code, answers) == (0, [pb.DECISION_ALLOW])
    assert stderr.text.endswith("discretion: stopped\n")


def test_a_second_sigterm_stops_without_waiting_for_calls_in_flight(monkeypatch):
    slow = SlowDecide(servicer.decide)
    monkeypatch.setattr(servicer, "decide", slow)
    codes = []

    def world(channel, stderr):
        in_flight = policy_stub(channel).Check.future(check(), timeout=10)
        assert slow.entered.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)
        stderr.wait_for("stopping")
        os.kill(os.getpid(), signal.SIGTERM)
        codes.append(in_flight.exception(timeout=10).code())
        slow.release.set()

    settings = ServerSettings(rules_dir=RULES, address="127.0.0.1:0", grace=30, engine="reference")
    started = time.monotonic()
    code, _ = serve_on_main_thread(settings, world)
    assert code == 0
    assert codes == [grpc.StatusCode.UNAVAILABLE]
    assert time.monotonic() - started < 15  # well inside the grace it did not wait out


def test_the_cli_loads_grpc_only_to_serve():
    service_dir = pathlib.Path(__file__).resolve().parents[2] / "service"
    probe = ("import io, sys; from discretion.cli import build_parser; "
             "build_parser(io.StringIO(), io.StringIO()); print('grpc' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(service_dir)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "False", result.stderr
