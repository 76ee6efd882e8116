"""What the server tests share: requests, a holder that stays put, a running server, a stderr to wait on."""

from __future__ import annotations

import contextlib
import functools
import pathlib
import threading
from typing import Iterator

import discretion_native
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from discretion.engine.compiled import CompiledPolicy
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from discretion.server.app import create_server
from discretion.server.config import ServerSettings
from discretion.store.files import lower_directory
from discretion.store.holder import Serving

RULES = pathlib.Path(__file__).resolve().parents[2] / "rules"
MARCH_2026 = 1_772_323_200  # after the platform baseline took effect


def check(**fields) -> pb.CheckRequest:
    """A member sharing one item with the group, now; `fields` replace parts."""
    understood = dict(
        action=pb.ACTION_SHARE,
        actor=pb.Actor(id="ana", member=True),
        group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="chatham-house")]),
        items=[pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=Timestamp(seconds=MARCH_2026 - 86_400))],
        destination=pb.Destination(kind=pb.DESTINATION_KIND_SAME_GROUP),
    )
    return pb.CheckRequest(**{**understood, **fields})


class StaticHolder:
    """A holder whose policy changes only when a test says so; counts how often it is read.

    The shipped rules are served by the native engine too, as a PolicyHolder serves them."""

    def __init__(self, policy: CompiledPolicy | None):
        self._policy = policy
        self._engine = _native_engine(policy)
        self.reads = 0

    @property
    def current(self) -> CompiledPolicy | None:
        self.reads += 1
        return self._policy

    @property
    def serving(self) -> Serving | None:
        self.reads += 1
        return None if self._policy is None else Serving(self._policy, self._engine)

    def answering(self):
        return contextlib.nullcontext()  # nothing reloads here to give way


@contextlib.contextmanager
def running(holder, **settings) -> Iterator[grpc.Channel]:
    """A real server on a free port, and a channel to it."""
    server, port = create_server(ServerSettings(address="127.0.0.1:0", **settings), holder)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(None)


def policy_stub(channel: grpc.Channel) -> policy_pb2_grpc.PolicyServiceStub:
    return policy_pb2_grpc.PolicyServiceStub(channel)


@functools.cache
def _shipped_engine() -> tuple[str, discretion_native.Engine]:
    compiled = lower_directory(RULES)
    return compiled.revision, discretion_native.Engine(compiled.SerializeToString())


def _native_engine(policy: CompiledPolicy | None) -> discretion_native.Engine | None:
    """The native engine of the shipped rules for a policy compiled from them; None for any other."""
    if policy is None:
        return None
    revision, engine = _shipped_engine()
    return engine if policy.revision == revision else None


class Lines:
    """A text stream another thread writes to, which a test can wait on."""

    def __init__(self):
        self._text = ""
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self._text += text
            self._changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        with self._changed:
            return self._text

    def wait_for(self, needle: str, timeout: float = 10.0) -> str:
        """The text so far once it holds `needle`; AssertionError after `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: needle in self._text, timeout):
                raise AssertionError(f"{needle!r} not written within {timeout}s; got:\n{self._text}")
            return self._text
