"""The rules holder: whatever a load does, the last good rules keep serving and the next change is tried."""

from __future__ import annotations

import shutil

import pytest

from discretion.store import holder as holder_module
from discretion.store.holder import PolicyHolder
from server.support import RULES


def test_a_fault_of_the_loader_itself_keeps_the_last_good_rules_and_says_so(tmp_path, monkeypatch):
    """A fault no diagnostic describes (one cannot be caused for real once files are bounded: simulated)."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    reloads = []
    holder = PolicyHolder(rules, on_reload=lambda ok, status: reloads.append(ok))
    assert holder.reload()
    good = holder.current

    def broken(directory):
        raise RecursionError("maximum recursion depth exceeded")

    real = holder_module.lower_directory
    monkeypatch.setattr(holder_module, "lower_directory", broken)
    assert holder.reload() is False
    assert holder.current is good
    (failure,) = holder.status().last_error
    assert failure.code == "load_failed" and "RecursionError" in failure.message
    monkeypatch.setattr(holder_module, "lower_directory", real)
    assert holder.reload() and not holder.status().last_error
    assert reloads == [True, False, True]


def test_reloads_give_the_interpreter_back_as_they_found_it_whatever_happens(tmp_path):
    """While a reload compiles, collection waits and the switch interval is short: both restored after,
    by the last of several reloads running at once, and after a load that fails."""
    import gc
    import sys
    import threading

    good, broken = tmp_path / "good", tmp_path / "broken"
    shutil.copytree(RULES, good)
    broken.mkdir()
    (broken / "bad.yaml").write_text("agreement: [unclosed\n")
    interval = sys.getswitchinterval()
    seen = []
    holders = [PolicyHolder(good), PolicyHolder(broken), PolicyHolder(good)]
    real = holder_module.lower_directory

    def watched(directory):
        seen.append((gc.isenabled(), sys.getswitchinterval()))
        return real(directory)

    holder_module.lower_directory = watched
    try:
        threads = [threading.Thread(target=h.reload) for h in holders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        holder_module.lower_directory = real
    assert len(seen) == 3 and all(not collecting and short == pytest.approx(min(interval, 0.0001), rel=0.05)
                                  for collecting, short in seen)
    assert gc.isenabled() and sys.getswitchinterval() == interval
    assert [h.current is not None for h in holders] == [True, False, True]


def test_a_reload_gives_way_while_calls_are_answered_and_never_more_than_four_times_its_work(tmp_path):
    import threading
    import time

    holder = PolicyHolder(tmp_path)
    alone = holder._giving_way()
    started = time.perf_counter()
    alone()  # no call in progress: nothing to give way to
    assert time.perf_counter() - started < 0.05

    in_call, done = threading.Event(), threading.Event()

    def call() -> None:
        with holder.answering():
            in_call.set()
            done.wait(30)

    caller = threading.Thread(target=call)
    caller.start()
    in_call.wait(30)
    try:
        pacer = holder._giving_way()
        worked = time.perf_counter()
        while time.perf_counter() - worked < 0.01:  # a step of work
            pass
        before = time.perf_counter()
        pacer()
        gave = time.perf_counter() - before
        assert gave >= 4 * 0.01  # it slept while the call was answered, up to four times its work
        again = time.perf_counter()
        pacer()  # no work since: no more to give
        assert time.perf_counter() - again < gave
    finally:
        done.set()
        caller.join(30)
