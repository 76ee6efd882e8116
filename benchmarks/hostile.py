"""`make hostile`: each known attack on a running server, replayed while normal traffic runs, and what it did.

Starts `discretion serve --workers 2` on 127.0.0.1 (a copy of `rules/`,
a decision log, ids logged as HMACs when the server can), runs one client
process asking an ordinary question in a loop, and sends each attack below in
turn. Per attack it prints how each of its calls was answered and how long
that took, the worker restarts seen, normal traffic's p99 during the attack
beside its p99 before any attack (reported, not gated: too noisy on two
cores), and each worker's peak resident memory so far (VmHWM).

Then the rule-file attacks: each file is written into the served rules
folder while the traffic runs. Per file it prints how each worker took it
(loaded or refused, and the codes refused with), how long each reload took,
normal traffic's p99 meanwhile, and whether the watcher still loaded the
next change (the file removed again).

It exits 1 on a worker crash or restart, on a call answered after its
deadline or a decision logged for a call whose caller had stopped waiting,
on a within-limits call of the issue's own shapes not answered, on a worker
whose peak memory passed the bound (256 MiB), on a rule file loaded that must
be refused or the reverse, or on a watcher that did not load the next change.

    python benchmarks/hostile.py [--short] [--json FILE] [--server-tree DIR]

`--short` is the pass `make test` runs (tests/security/test_hostile.py):
smaller attacks, generous deadlines, outcomes and counts asserted, no time.
`--server-tree DIR` serves from another checkout's `service/` (to measure
before a fix; the attacks are sent as bytes, so an older server that
misreads them is reported, not crashed into).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import hmac
import json
import multiprocessing
import os
import pathlib
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc

import servers  # benchmarks/servers.py: start a server, wait for its line, stop it

ROOT = pathlib.Path(__file__).resolve().parent.parent
READY = r"discretion: serving on (\S+)"
PEAK_MIB = 256
ATTACK_BUDGET = 120  # seconds an attack's calls may take in all; past it the rest are not sent
CHECK = "/discretion.v1.PolicyService/Check"
MARCH_2026 = 1_772_323_200
_KEY = b"hostile-run-key-0123456789abcdef"  # the run's own HMAC key for logged ids


# --- requests ---------------------------------------------------------------------------------------

def request(group_id: str, *, action=pb.ACTION_SHARE, people=(), items=None, destination=pb.DESTINATION_KIND_PUBLIC,
            adoptions=None, quoted_text="", publicly_accessible=False) -> pb.CheckRequest:
    """An ordinary check in group `group_id`, with the parts an attack changes."""
    if items is None:
        items = [pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=Timestamp(seconds=MARCH_2026), text="hello")]
    return pb.CheckRequest(
        action=action, actor=pb.Actor(id="ana", member=True), items=items, quoted_text=quoted_text,
        group=pb.Group(id=group_id, participants=list(people),
                       adoptions=adoptions if adoptions is not None else [pb.Adoption(agreement="chatham-house")]),
        destination=pb.Destination(kind=destination, publicly_accessible=publicly_accessible))


def _nested_struct(depth: int) -> bytes:
    """A Struct nested `depth` deep, as bytes: the message API refuses to build one."""
    inner = b""
    for _ in range(depth):
        # Struct{fields: {"a": Value{struct_value: inner}}}
        value = _field(5, 2, inner)  # Value.struct_value
        entry = _field(1, 2, b"a") + _field(2, 2, value)
        inner = _field(1, 2, entry)  # Struct.fields
    return inner


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


@dataclasses.dataclass
class Call:
    group_id: str
    body: bytes
    deadline: float
    within_limits: bool  # the service must answer it, with a decision or a refusal naming a field
    expect: str = "answered"  # "answered", "refused" (INVALID_ARGUMENT) or "either" (may be abandoned)


@dataclasses.dataclass
class Attack:
    key: str
    what: str
    calls: list[Call]


def attacks(short: bool) -> list[Attack]:
    """The attacks of the never-down issue, in its order; `short` makes each small enough for `make test`."""
    slow = 60.0 if short else None  # generous deadlines where the full run measures time

    def call(tag: str, n: int, message: pb.CheckRequest | bytes, deadline: float, within=True, expect="answered"):
        body = message if isinstance(message, bytes) else message.SerializeToString()
        return Call(f"hostile-{tag}-{n}", body, deadline, within, expect)

    out: list[Attack] = []

    # 1. A name of 600,000 characters once overflowed the C stack when its matcher was freed.
    huge = "x" * 600_000
    out.append(Attack("1-long-names", "a 600,000-character name, handle, organization; a NUL in a name", [
        call("1", 0, request("hostile-1-0", people=[pb.Person(id="p", display_name=huge)]), 10, expect="refused"),
        call("1", 1, request("hostile-1-1", people=[pb.Person(id="p", handles=[huge])]), 10, expect="refused"),
        call("1", 2, request("hostile-1-2", people=[pb.Person(id="p", organization=huge)]), 10, expect="refused"),
        call("1", 3, request("hostile-1-3", people=[pb.Person(id="p", display_name="Li\0Chen" + "y" * 999)]), 10,
             expect="refused"),
    ]))
    # ... and the longest names allowed, then enough other rosters to evict their matchers.
    longest = [call("1b", 0, request("hostile-1b-0", action=pb.ACTION_QUOTE, quoted_text="as y said",
                                     people=[pb.Person(id=f"p{i}", display_name=chr(0x61 + i % 26) * 1000)
                                             for i in range(400)]), 30)]
    for n in range(1, 4 if short else 40):
        longest.append(call("1b", n, request(f"hostile-1b-{n}", action=pb.ACTION_QUOTE, quoted_text="as z said",
                                             people=[pb.Person(id=f"q{i}", display_name=f"Person {n} {i}")
                                                     for i in range(200)]), 30))
    out.append(Attack("1b-longest-names", "400 names of 1,000 characters, then 39 rosters to evict them", longest))

    # 2. Crafted text: 10^8 candidate matches per text once took 14 s each, past the deadline.
    letters = [pb.Person(id=f"p{n}", display_name="a" * n) for n in range(1, 1000)]
    export = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), text="a" * 100_000) for i in range(4)]
    words = [pb.Person(id=f"w{n}", display_name=" ".join("a" * n)) for n in range(1, 500)]
    word_export = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), text=" ".join("a" * 50_000)) for i in range(4)]
    small = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), posted_at=Timestamp(seconds=MARCH_2026))
             for i in range(1000)]
    many = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), text=" ".join("a" * 50_000))
            for i in range(8 if short else 30)]
    out.append(Attack("2-crafted-text", "names a, aa, … or a, a a, …; exports and a quote of texts of them", [
        call("2", 0, request("hostile-2-0", action=pb.ACTION_EXPORT, people=letters, items=export), slow or 10),
        call("2", 1, request("hostile-2-1", action=pb.ACTION_EXPORT, people=words, items=word_export), slow or 10),
        # 30 such texts are more than a 1 s deadline allows: the work must stop, unlogged.
        call("2", 2, request("hostile-2-2", action=pb.ACTION_EXPORT, people=words, items=many), 1.0,
             expect="either"),
        # One such quote beside 1,000 items was searched once per item.
        call("2", 3, request("hostile-2-3", action=pb.ACTION_QUOTE, people=words, items=small,
                             quoted_text=" ".join("a" * 50_000)), slow or 10),
        # An invisible character between every two letters: searched without word marks, still capped.
        call("2", 4, request("hostile-2-4", action=pb.ACTION_EXPORT, people=letters, items=[
            pb.Item(id=f"m{i}", author=pb.Person(id="bo"), text="a\u200b" * 50_000) for i in range(4)]), slow or 10),
    ]))

    # 2b. What a second probe found: work per item or per reading that is the same each time.
    one = [pb.Person(id="p1", display_name="A")]
    cjk = random.Random(5)
    ideographs = [chr(0x4E00 + cjk.randrange(0x5000)) for _ in range(3000)]

    def cjk_name() -> str:
        return "".join(cjk.choice(ideographs) for _ in range(12))

    too_large = [pb.Person(id=f"c{i}", display_name=cjk_name(), aliases=[cjk_name() for _ in range(10)])
                 for i in range(2000)]
    large = too_large[:1150]
    labels = [pb.Label(scheme="tlp", value="clear", params={"n": str(i)}) for i in range(31)]
    out.append(Attack("2b-per-item-work", "a quote of one name's word beside 1,000 items; an item read 62 ways; "
                      "a roster too large to search; a large Chinese roster and a text with an invisible", [
        call("2b", 0, request("hostile-2b-0", action=pb.ACTION_QUOTE, people=one, items=small,
                              quoted_text=" ".join("a" * 50_000)), slow or 10),
        call("2b", 1, request("hostile-2b-1", people=one, destination=pb.DESTINATION_KIND_COMMUNITY_PEER,
                              publicly_accessible=True, items=[
            pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=Timestamp(seconds=MARCH_2026),
                    text=" ".join("a" * 50_000), labels=labels)]), slow or 10),
        call("2b", 2, request("hostile-2b-2", action=pb.ACTION_EXPORT, people=too_large, items=[
            pb.Item(id=f"m{i}", author=pb.Person(id="bo"), posted_at=Timestamp(seconds=MARCH_2026), text="hello")
            for i in range(1000)]), slow or 10),
        call("2b", 3, request("hostile-2b-3", action=pb.ACTION_QUOTE, people=large,
                              quoted_text="rates wi\u200bll rise"), slow or 30),
    ]))

    # 3. A legitimate export at the documented limits once rebuilt the roster's matcher per item: 333 s.
    if not short:
        rng = random.Random(3)
        roster = [pb.Person(id=f"u{i}", display_name=f"{_word(rng)} {_word(rng)}", organization=f"{_word(rng)} Ltd",
                            handles=[f"@{_word(rng).lower()}{i}"]) for i in range(10_000)]
        items = [pb.Item(id=f"m{i}", author=roster[i * 10], posted_at=Timestamp(seconds=MARCH_2026),
                         text=" ".join(_word(rng).lower() for _ in range(60)) + f" as {roster[i * 7].display_name} said")
                 for i in range(1000)]
        out.append(Attack("3-limit-export", "an export of 1,000 items by 1,000 authors in a group of 10,000", [
            call("3", 0, request("hostile-3-0", action=pb.ACTION_EXPORT, people=roster, items=items), 10)]))

    # 4. Memory: a cache keyed by the caller's segment names, a cache of matchers bounded by count.
    segments = []
    for n in range(10 if short else 100):
        items = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), posted_at=Timestamp(seconds=MARCH_2026),
                         session=pb.Session(segment=f"{n}-{i}-" + "s" * 240)) for i in range(1000)]
        segments.append(call("4a", n, request(f"hostile-4a-{n}", items=items, adoptions=[
            pb.Adoption(agreement="chatham-house", segments=["discussion"])]), 30))
    out.append(Attack("4a-segments", "1,000 items a call, each with a segment name never seen before", segments))
    rng = random.Random(7)
    rosters = []
    for n in range(4 if short else 20):
        people = [pb.Person(id=f"p{i}", display_name=" ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(9)) for _ in range(99))) for i in range(500)]
        rosters.append(call("4b", n, request(f"hostile-4b-{n}", action=pb.ACTION_QUOTE, people=people,
                                             quoted_text="rates will rise"), 60))
    out.append(Attack("4b-rosters", "rosters of 500,000 characters of names, each new", rosters))

    # 5. Malformed bytes once raised INTERNAL, before the caller was identified.
    good = request("hostile-5-0").SerializeToString()
    bad_utf8 = good.replace(b"hello", b"hel\xffo")
    deep_body = request("hostile-5-1").SerializeToString() + _field(12, 2, _nested_struct(90))  # `attributes`
    out.append(Attack("5-malformed", "invalid UTF-8 in a string; a Struct nested 90 deep", [
        Call("hostile-5-0", bad_utf8, 10, True, "refused"),
        Call("hostile-5-1", deep_body, 10, True, "refused"),
    ]))

    # 6. Adoptions: no limit once, and a cost in their square for undated items.
    undated = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), text="hello") for i in range(1000)]
    adoptions = [pb.Adoption(agreement="chatham-house", version=1, effective_from=Timestamp(seconds=n * 86_400))
                 for n in range(2000)]
    out.append(Attack("6-adoptions", "2,000 dated adoptions (refused); 100 of them, 1,000 undated items", [
        call("6", 0, request("hostile-6-0", items=undated, adoptions=adoptions), 3, expect="refused"),
        call("6", 1, request("hostile-6-1", items=undated, adoptions=adoptions[:100]), slow or 3),
    ]))
    return out


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))).title()


# --- rule files --------------------------------------------------------------------------------------

@dataclasses.dataclass
class RuleFile:
    key: str
    what: str
    name: str  # written into the served rules folder, removed after
    content: str
    expect: str  # "loaded" or "refused"
    codes: frozenset = frozenset()  # what a refusal must name, in GetPolicyStatus
    calls: list[Call] = dataclasses.field(default_factory=list)  # sent while the file is in force


def _agreement(name: str, rules: list[str]) -> str:
    return (f"agreement: {name}\ntitle: {name}\nsummary: s\nversions:\n  - version: 1\n    rules:\n"
            + "".join(f"      - {{id: r{i}, when: {condition}, effect: deny, reason: {{code: c, message: m}}}}\n"
                      for i, condition in enumerate(rules)))


def rule_file_attacks(short: bool) -> list[RuleFile]:
    """The rule files of the hostile-rule-files issue, in its order; `short` makes the large one smaller."""
    nested = ("agreement: deep\ntitle: Deep\nsummary: s\nversions:\n  - version: 1\n    rules:\n"
              "      - id: deep\n        effect: deny\n        reason: {code: deep, message: deep}\n"
              "        when: " + "{not: " * 400 + "{action: share}" + "}" * 400 + "\n")
    many = 2_000 if short else 10_000
    near_re2 = [f'{{quoted_text: {{matches: "(?:\\\\pL|\\\\pN){{{60 + i}}}z"}}}}' for i in range(200)]
    # The costliest patterns the budget lets in: automata too large for their memory, simulated.
    costly = [f'{{quoted_text: {{matches: "(?:a|b)*a(?:a|b){{{n}}}"}}}}' for n in (243, 242)]
    crafted = "".join(random.Random(11).choices("ab", k=100_000))
    quote = request("hostile-R4-0", action=pb.ACTION_QUOTE, quoted_text=crafted,
                    adoptions=[pb.Adoption(agreement="costly")]).SerializeToString()
    return [
        # The yardstick for the others' p99: a reload like any edit's, with this harness polling as for all.
        RuleFile("R0-ordinary", "an ordinary edit: one more agreement of one rule", "ordinary.yaml",
                 _agreement("ordinary", ["{actor.id: someone}"]), "loaded"),
        RuleFile("R1-nested", "a 3 KB file nested 400 deep", "deep.yaml", nested, "refused",
                 frozenset({"too_deep"})),
        RuleFile("R2-many-rules", f"{many:,} rules in one version", "many.yaml",
                 _agreement("many", [f"{{actor.id: a{i}}}" for i in range(many)]), "loaded"),
        RuleFile("R3-near-re2", "200 patterns just under RE2's old memory limit", "near.yaml",
                 _agreement("near", near_re2), "refused", frozenset({"pattern_too_large", "pattern_budget"})),
        RuleFile("R4-costly-patterns", "the costliest patterns the budget allows, and a crafted 100k quote",
                 "costly.yaml", _agreement("costly", costly), "loaded",
                 calls=[Call("hostile-R4-0", quote, 30 if short else 10, True)]),
        RuleFile("R5-escape", "an escape sequence and a reversal in a title; a javascript: source", "escape.yaml",
                 'agreement: escape\ntitle: "Deny \\e[2K\\rallowed \\u202e"\nsummary: s\n'
                 'source: "javascript:alert(1)"\nversions: [{version: 1, rules: []}]\n', "refused",
                 frozenset({"control_character"})),
    ]


LOADED = "rules loaded from"
REFUSED = "not loaded, still serving revision"
_TOOK = r"\((?:the attempt took )?(\d+\.\d+) s\)"


def send_rule_file(server: Server, channel: grpc.Channel, attack: RuleFile, workers: int) -> dict:
    """Write the file, wait for every worker to take it, send its calls, remove it, wait for the next load."""
    def counts() -> tuple[int, int]:
        text = server.output()
        return text.count(LOADED), text.count(REFUSED)

    def settle(loaded: int, refused: int, budget: float = 120.0) -> tuple[int, int, float]:
        started = time.monotonic()
        while time.monotonic() - started < budget:
            now = counts()
            if now[0] + now[1] >= loaded + refused + workers:
                return now[0] - loaded, now[1] - refused, time.monotonic() - started
            server.sample()
            time.sleep(0.02)
        now = counts()
        return now[0] - loaded, now[1] - refused, time.monotonic() - started

    before = counts()
    seen_to = len(server.output())
    path = server.rules / attack.name
    path.write_text(attack.content)
    loaded, refused, waited = settle(*before)
    took = [float(t) for t in re.findall(_TOOK, server.output()[seen_to:])]
    outcome = "loaded" if loaded >= workers else "refused" if refused >= workers else f"{loaded} loaded, {refused} refused"
    codes: list[str] = []
    if refused:
        status = policy_pb2_grpc.PolicyServiceStub(channel).GetPolicyStatus(pb.GetPolicyStatusRequest(), timeout=10)
        codes = sorted({d.code for d in status.last_error})
    results = [send(channel, call) for call in attack.calls]
    server.sample()
    path.unlink()
    after = counts()
    again, _, _ = settle(*after)
    return {"key": attack.key, "what": attack.what, "outcome": outcome, "expect": attack.expect, "codes": codes,
            "reload_s": took, "waited_s": round(waited, 2), "watcher_alive": again >= workers, "calls": results}


def rule_file_problems(result: dict, attack: RuleFile, server: Server) -> list[str]:
    found = []
    if result["outcome"] != attack.expect:
        found.append(f"{attack.key}: {result['outcome']}, must be {attack.expect}")
    if attack.expect == "refused" and not set(result["codes"]) <= attack.codes | {"load_failed"}:
        found.append(f"{attack.key}: refused with {result['codes']}, must be {sorted(attack.codes)}")
    if "load_failed" in result["codes"]:
        found.append(f"{attack.key}: the loader failed (load_failed), not a diagnostic")
    if not result["watcher_alive"]:
        found.append(f"{attack.key}: the next change was not loaded by every worker")
    found += problems_of(result["calls"], server)
    return found


# --- the server --------------------------------------------------------------------------------------

class Server:
    def __init__(self, folder: pathlib.Path, tree: pathlib.Path, extra: list[str]):
        self.log = folder / "decisions.jsonl"
        rules = self.rules = folder / "rules"
        shutil.copytree(ROOT / "rules", rules)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(tree / "service")}
        shown = subprocess.run([sys.executable, "-m", "discretion", "serve", "--help"], env=env,
                               capture_output=True, text=True)
        help_text = shown.stdout + shown.stderr
        args = [sys.executable, "-m", "discretion", "serve", "--rules", str(rules), "--address", "127.0.0.1:0",
                "--workers", "2", "--metrics-address", "off", "--decision-log", str(self.log)]
        self.hashes_ids = "--decision-log-hash-ids" in help_text
        if self.hashes_ids:
            key = folder / "id.key"
            key.write_bytes(_KEY)
            args += ["--decision-log-hash-ids", str(key)]
        if "--log-level" in help_text:  # every worker's reloads, which the rule-file attacks count
            args += ["--log-level", "debug"]
        args += extra
        self._server = servers.Server("Discretion", servers.start_process(args, folder / "server.log", env), "",
                                      folder / "server.log")
        self.process = self._server.process
        try:
            self.target = self._server.wait_for_line(READY).group(1)
        except RuntimeError as error:
            self._server.stop()
            raise SystemExit(f"hostile: the server did not start: {error}") from None
        time.sleep(1.0)  # both workers up
        self.seen: dict[int, int] = {}  # worker pid -> peak VmHWM in KiB

    def workers(self) -> list[int]:
        try:
            children = pathlib.Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children if _is_worker(int(pid))]

    def sample(self) -> None:
        for pid in self.workers():
            try:
                status = pathlib.Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            peak = int(status.split("VmHWM:")[1].split()[0])
            self.seen[pid] = max(self.seen.get(pid, 0), peak)

    def logged(self, group_id: str) -> bool:
        wanted = hmac.new(_KEY, group_id.encode(), hashlib.sha256).hexdigest() if self.hashes_ids else group_id
        return any(line.get("group_id") == wanted for line in self.log_lines())

    def log_lines(self) -> list[dict]:
        try:
            text = self.log.read_text()
        except OSError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def output(self) -> str:
        return self._server.log.read_text(errors="replace")

    def stop(self) -> int | None:
        self._server.stop()  # SIGTERM, then SIGKILL after 20 s
        return self.process.returncode


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


# --- normal traffic ----------------------------------------------------------------------------------

def traffic(target: str, stop, results) -> None:
    """An ordinary question in a loop: (time, seconds, ok) per call, handed back when told to stop."""
    body = request("normal", action=pb.ACTION_QUOTE, quoted_text="rates will rise",
                   people=[pb.Person(id="li", display_name="Li Chen")]).SerializeToString()
    seen = []
    with grpc.insecure_channel(target) as channel:
        method = channel.unary_unary(CHECK)
        while not stop.is_set():
            started = time.time()
            try:
                method(body, timeout=10)
                ok = True
            except grpc.RpcError:
                ok = False
            seen.append((started, time.time() - started, ok))
            time.sleep(0.01)
    results.put(seen)


def p99(latencies: list[float]) -> float | None:
    if not latencies:
        return None
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# --- the run -----------------------------------------------------------------------------------------

def send(channel: grpc.Channel, call: Call) -> dict:
    method = channel.unary_unary(CHECK)
    started = time.monotonic()
    try:
        answer = pb.CheckResponse.FromString(method(call.body, timeout=call.deadline))
        outcome = pb.Decision.Name(answer.decision).removeprefix("DECISION_").lower()
        field = ""
    except grpc.RpcError as error:
        outcome = error.code().name
        field = _field_named(error)
    return {"group_id": call.group_id, "outcome": outcome, "field": field,
            "seconds": round(time.monotonic() - started, 3), "deadline": call.deadline, "expect": call.expect,
            "within_limits": call.within_limits}


def _field_named(error: grpc.RpcError) -> str:
    """The first field violation's field, from the `google.rpc.BadRequest` details, if any."""
    try:
        from google.rpc import error_details_pb2, status_pb2
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                for detail in status.details:
                    bad = error_details_pb2.BadRequest()
                    if detail.Unpack(bad) and bad.field_violations:
                        return bad.field_violations[0].field
    except Exception:  # an older server's details: the outcome is what counts
        return ""
    return ""


def problems_of(results: list[dict], server: Server) -> list[str]:
    """What makes a call's outcome a failure of the run."""
    found = []
    for result in results:
        outcome, expect = result["outcome"], result["expect"]
        if outcome == "not sent":
            found.append(f"{result['group_id']}: not sent, the attack's {ATTACK_BUDGET} s had run out")
        elif outcome in ("UNAVAILABLE", "INTERNAL", "UNKNOWN"):
            found.append(f"{result['group_id']}: {outcome}")
        elif expect == "refused" and outcome != "INVALID_ARGUMENT":
            found.append(f"{result['group_id']}: answered {outcome}, not refused as over a limit or malformed")
        elif expect == "answered" and outcome not in ("allow", "deny", "allow_with_obligations", "INVALID_ARGUMENT"):
            found.append(f"{result['group_id']}: within limits, {outcome}")
        if outcome == "DEADLINE_EXCEEDED" and server.logged(result["group_id"]):
            found.append(f"{result['group_id']}: decided and logged after its caller stopped waiting")
    return found


def run(short: bool, tree: pathlib.Path, only: str = "", extra: list[str] | None = None) -> dict:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="discretion-hostile-"))
    server = Server(folder, tree, extra or [])
    context = multiprocessing.get_context("spawn")
    stop, queue = context.Event(), context.Queue()
    normal = context.Process(target=traffic, args=(server.target, stop, queue))
    normal.start()
    report = {"server_tree": str(tree), "short": short, "attacks": [], "rule_files": [], "problems": []}
    try:
        time.sleep(2.0 if short else 5.0)  # traffic with no attack: the baseline
        baseline_end = time.time()
        first_workers = set(server.workers())
        server.sample()
        windows = []
        with grpc.insecure_channel(server.target, options=[("grpc.max_send_message_length", 64 << 20),
                                                           ("grpc.max_receive_message_length", 64 << 20)]) as channel:
            for attack in [a for a in attacks(short) if a.key.startswith(tuple(only.split(",")))]:
                began = time.time()
                results = []
                for call in attack.calls:
                    if time.time() - began > ATTACK_BUDGET:  # an older server may still be busy with the last one
                        results.append({"group_id": call.group_id, "outcome": "not sent", "field": "",
                                        "seconds": 0.0, "deadline": call.deadline, "expect": call.expect,
                                        "within_limits": call.within_limits})
                        continue
                    results.append(send(channel, call))
                    server.sample()
                time.sleep(max(c.deadline for c in attack.calls if c.expect == "either") + 1
                           if any(c.expect == "either" for c in attack.calls) else 0.3)
                server.sample()
                ended = time.time()
                windows.append((attack.key, began, ended))
                alive = server.process.poll() is None
                now_workers = set(server.workers())
                problems = problems_of(results, server)
                if not alive:
                    problems.append("the server exited")
                report["attacks"].append({
                    "key": attack.key, "what": attack.what, "calls": results, "problems": problems,
                    "workers": sorted(now_workers), "peak_mib": {str(p): kib // 1024 for p, kib in server.seen.items()},
                })
                report["problems"] += [f"{attack.key}: {p}" for p in problems]
                if not alive:
                    break
            report["rule_files"] = []
            for attack in [a for a in rule_file_attacks(short) if a.key.startswith(tuple(only.split(",")))]:
                if server.process.poll() is not None:
                    break
                began = time.time()
                result = send_rule_file(server, channel, attack, workers=2)
                windows.append((attack.key, began, began + result["waited_s"]))
                result["problems"] = rule_file_problems(result, attack, server)
                if server.process.poll() is not None:
                    result["problems"].append("the server exited")
                result["peak_mib"] = {str(p): kib // 1024 for p, kib in server.seen.items()}
                report["rule_files"].append(result)
                report["problems"] += result["problems"]
        stop.set()
        seen = queue.get(timeout=30)
        normal.join(10)
        restarts = server.output().count("restarted as pid")
        report["restarts"] = restarts
        report["workers_before"] = sorted(first_workers)
        report["baseline_p99_ms"] = _ms(p99([s for t, s, ok in seen if t < baseline_end]))
        report["normal_failed"] = sum(1 for _, _, ok in seen if not ok)
        for entry, (_, began, ended) in zip(report["attacks"] + report["rule_files"], windows):
            entry["normal_p99_ms"] = _ms(p99([s for t, s, ok in seen if began <= t <= ended]))
            entry["normal_calls"] = sum(1 for t, _, _ in seen if began <= t <= ended)
        peaks = {pid: kib // 1024 for pid, kib in server.seen.items()}
        report["peak_mib"] = peaks
        if restarts or set(server.seen) - first_workers:
            report["problems"].append(f"worker restarts: {restarts} (workers seen: {sorted(server.seen)})")
        for pid, mib in peaks.items():
            if mib > PEAK_MIB:
                report["problems"].append(f"worker {pid} peaked at {mib} MiB, over {PEAK_MIB}")
        lines = server.log_lines()
        report["log_lines"] = len(lines)
        report["log_raw_ids"] = sum(1 for line in lines if line.get("group_id", "").startswith("hostile-"))
        report["log_refusals_without_code"] = sum(
            1 for line in lines if line.get("decision") == "deny" and not line.get("reason_codes"))
        if server.hashes_ids and report["log_raw_ids"]:
            report["problems"].append(f"{report['log_raw_ids']} log lines carry a group id as given")
        if report["log_refusals_without_code"]:
            report["problems"].append(f"{report['log_refusals_without_code']} refusals logged without a reason code")
    finally:
        stop.set()
        if normal.is_alive():
            normal.terminate()
        report["server_exit"] = server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return report


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def table(report: dict) -> str:
    rows = [f"hostile run: server from {report['server_tree']}; normal traffic p99 with no attack: "
            f"{report.get('baseline_p99_ms')} ms",
            "",
            "| attack | calls | answered as | fields named | slowest s (deadline) | normal p99 ms (calls) "
            "| peak MiB per worker |",
            "|---|---:|---|---|---:|---:|---|"]
    for attack in report["attacks"]:
        outcomes: dict[str, int] = {}
        for call in attack["calls"]:
            outcomes[call["outcome"]] = outcomes.get(call["outcome"], 0) + 1
        answered = ", ".join(f"{n} {outcome}" for outcome, n in outcomes.items())
        fields = ", ".join(dict.fromkeys(c["field"] for c in attack["calls"] if c["field"]))
        slowest = max(attack["calls"], key=lambda c: c["seconds"])
        peaks = ", ".join(str(v) for v in attack["peak_mib"].values())
        rows.append(f"| {attack['key']} | {len(attack['calls'])} | {answered} | {fields} | "
                    f"{slowest['seconds']:.2f} ({slowest['deadline']:g}) | "
                    f"{attack.get('normal_p99_ms')} ({attack.get('normal_calls')}) | {peaks} |")
    if report.get("rule_files"):
        rows += ["", "| rule file | each worker | refused with | reload s per worker | normal p99 ms (calls) "
                 "| its calls answered as (s) | next change loaded |", "|---|---|---|---|---:|---|---|"]
        for entry in report["rule_files"]:
            calls = ", ".join(f"{c['outcome']} ({c['seconds']:.2f})" for c in entry["calls"])
            rows.append(f"| {entry['key']} | {entry['outcome']} | {', '.join(entry['codes'])} | "
                        f"{', '.join(f'{t:.2f}' for t in entry['reload_s'])} | "
                        f"{entry.get('normal_p99_ms')} ({entry.get('normal_calls')}) | {calls} | "
                        f"{'yes' if entry['watcher_alive'] else 'NO'} |")
    rows.append("")
    rows.append(f"worker restarts: {report.get('restarts')}; normal calls failed: {report.get('normal_failed')}; "
                f"decision-log lines: {report.get('log_lines')} (group ids as given: {report.get('log_raw_ids')}, "
                f"refusals without a reason code: {report.get('log_refusals_without_code')}); "
                f"server exit: {report.get('server_exit')}")
    rows.append("problems: " + ("none" if not report["problems"] else ""))
    rows += [f"  - {p}" for p in report["problems"]]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the short pass `make test` runs")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON too")
    parser.add_argument("--server-tree", metavar="DIR", default=str(ROOT), help="serve from this checkout")
    parser.add_argument("--only", metavar="PREFIX", default="", help="only the attacks whose key starts so (`4b`, `1b,2`)")
    parser.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for `discretion serve` (repeat for several)")
    args = parser.parse_args(argv)
    report = run(args.short, pathlib.Path(args.server_tree).resolve(), args.only, args.serve_arg)
    print(table(report))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
