"""The rules holder: whatever a load does, the last good rules keep serving and the next change is tried."""

from __future__ import annotations

import shutil

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

    real = holder_module.compile_directory
    monkeypatch.setattr(holder_module, "compile_directory", broken)
    assert holder.reload() is False
    assert holder.current is good
    (failure,) = holder.status().last_error
    assert failure.code == "load_failed" and "RecursionError" in failure.message
    monkeypatch.setattr(holder_module, "compile_directory", real)
    assert holder.reload() and not holder.status().last_error
    assert reloads == [True, False, True]
