"""The journal: append + fsync, open entries, torn lines, and a target it can rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from fleet.clients import Endpoint
from fleet.faults import FAULTS, Fault, for_journal_kind, register
from fleet.journal import Journal, new_entry, require_journal
from fleet.rollback import rollback
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

TARGET = FleetTarget(
    Endpoint("http://127.0.0.1:9", emulator_token="tok"), "sub", "rg", "vmss", "lb", kind="emulator"
)


def test_open_entries_and_closing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j" / "journal.jsonl")
    a = new_entry(TARGET, "stop", "vm1", revert={"options": {"skip_shutdown": True}})
    b = new_entry(TARGET, "break-extension", "vm2", revert={"original": {"settings": {"p": 1}}})
    journal.record_injected(a)
    journal.record_injected(b)
    assert [e.id for e in journal.open_entries()] == [a.id, b.id]
    journal.record_reverted(a.id, "started")
    assert [e.id for e in journal.open_entries()] == [b.id]
    reread = journal.open_entries()[0]
    assert reread.revert == {"original": {"settings": {"p": 1}}}
    rebuilt = reread.fleet()
    assert rebuilt == TARGET and rebuilt.endpoint.emulator_token == "tok"


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    entry = new_entry(TARGET, "stop", "vm1")
    journal.record_injected(entry)
    with journal.path.open("a") as f:
        f.write('{"record": "reverted", "id": "')
    assert [e.id for e in journal.open_entries()] == [entry.id]


def test_missing_journal_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FlexchaosError, match="does not exist"):
        require_journal(tmp_path / "nope.jsonl")


class UnitTestFault(Fault):
    """A fault registered from outside fleet/faults: rollback finds its revert by name."""

    name = "unit-test-kind"
    calls: ClassVar[list[str]] = []

    def revert(self, ops: object, entry: object) -> str:
        self.calls.append("cancel")
        return "experiment cancelled"


def test_rollback_uses_registered_faults_and_is_idempotent(tmp_path: Path) -> None:
    if "unit-test-kind" not in FAULTS:
        register(UnitTestFault())
    calls = UnitTestFault.calls
    calls.clear()
    assert for_journal_kind("unit-test-kind") is FAULTS["unit-test-kind"]
    assert for_journal_kind("chaos_shutdown") is FAULTS["chaos-shutdown"]  # older journals
    assert for_journal_kind("no-such-kind") is None
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_injected(new_entry(TARGET, "unit-test-kind", None))
    journal.record_injected(new_entry(TARGET, "no-such-kind", "vm9"))
    lines: list[str] = []
    results = rollback(journal, lines.append)
    assert [r.ok for r in results].count(True) == 1 and calls == ["cancel"]
    assert any("no fault named 'no-such-kind'" in line for line in lines)
    lines.clear()
    rollback(journal, lines.append)  # the unknown kind stays open; the done one is not redone
    assert calls == ["cancel"] and len(journal.open_entries()) == 1


def test_a_torn_last_line_does_not_swallow_the_next_entry(tmp_path: Path) -> None:
    target = FleetTarget(Endpoint("http://127.0.0.1:1", emulator_token="t"), "s", "rg", "set")
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_injected(new_entry(target, "stop", "vm1"))
    with journal.path.open("a") as handle:
        handle.write('{"record": "injected", "id": "torn')  # a writer killed mid-line
    journal.record_injected(new_entry(target, "stop", "vm2"))
    assert [e.vm for e in journal.open_entries()] == ["vm1", "vm2"]
