"""The journal: append + fsync, open entries, torn lines, and a target it can rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from fleet.clients import Endpoint
from fleet.faults import FAULTS, Fault, for_journal_kind
from fleet.journal import Journal, new_entry, require_journal
from fleet.journal_lines import JournalDamaged
from fleet.rollback import rollback
from fleet.target import FleetTarget
from flexchaos.errors import BadInput, FlexchaosError

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


def test_rollback_uses_registered_faults_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # registered for this test only: the registry is process-wide, and other tests (the
    # bad-input table) print the list of faults
    monkeypatch.setitem(FAULTS, "unit-test-kind", UnitTestFault())
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


# -- integrity: checksums, torn lines, damage, older journals ---------------------------------


def test_every_line_is_checksummed_and_landed_is_read_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    entry = new_entry(TARGET, "stop", "vm1")
    journal.record_injected(entry)
    assert journal.open_entries()[0].landed_at is None
    journal.record_landed(entry.id)
    lines = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert all(len(line["check"]) == 16 for line in lines)
    assert [r["record"] for r in journal.records()] == ["injected", "landed"]
    assert "check" not in journal.records()[0]
    assert journal.open_entries()[0].landed_at == lines[1]["time"]


def test_a_torn_last_line_is_reported_and_the_complete_entries_roll_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    register_unit_test_fault(monkeypatch)
    entry = new_entry(TARGET, "unit-test-kind", None)
    journal.record_injected(entry)
    with journal.path.open("a") as f:
        f.write('{"detail": {}, "fault": "stop", "id": "abc", "rec')  # killed mid-write
    lines: list[str] = []
    results = rollback(journal, lines.append)
    assert [r.entry.id for r in results] == [entry.id] and results[0].ok
    assert "the last line" in lines[0] and "cut short by a run killed mid-write" in lines[0]
    assert lines[-1].startswith("rollback done in") and "1 reverted" in lines[-1]


def test_the_next_writer_marks_a_torn_line_and_readers_accept_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_injected(new_entry(TARGET, "stop", "vm1"))
    with journal.path.open("a") as f:
        f.write('{"detail": {}, "fault": "st')
    journal.record_injected(new_entry(TARGET, "stop", "vm2"))
    found = journal.scan()
    assert [t.number for t in found.torn] == [2] and found.torn[0].acknowledged
    assert [r["record"] for r in json_lines(journal.path)] == ["injected", "torn", "injected"]
    assert [e.vm for e in journal.open_entries()] == ["vm1", "vm2"]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("garbage", "not JSON"),
        ("garbage-no-newline", "not JSON"),
        ("bad-checksum", "checksum does not match"),
        ("not-a-record", "not a journal record"),
        ("unchecked-after-checked", "no checksum"),
        ("torn-mid-file", "not a complete record"),
        ("binary", "not JSON"),
    ],
)
def test_damage_stops_rollback_with_one_line_and_exit_2(
    tmp_path: Path, damage: str, why: str
) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    entry = new_entry(TARGET, "stop", "vm1")
    journal.record_injected(entry)
    good = path.read_bytes()
    bad = {
        "garbage": good + b"this is not a journal\n",
        "garbage-no-newline": b"hello world",
        "bad-checksum": good.replace(b'"vm1"', b'"vm2"'),
        "not-a-record": good + b'{"x": 1}\n',
        "unchecked-after-checked": good + json.dumps(entry.to_record()).encode() + b"\n",
        "torn-mid-file": good + b'{"fault": "stop", "id\n' + good,
        "binary": b"\x00\xff\xfe" * 40 + b"\n" + good,
    }[damage]
    path.write_bytes(bad)
    with pytest.raises(JournalDamaged, match=why) as caught:
        rollback(journal, lambda line: None)
    assert "nothing was rolled back" in str(caught.value) and "\n" not in str(caught.value)
    result = flexchaos_cli("rollback", "--journal", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "is damaged at line" in result.stderr and "Traceback" not in result.stderr


def test_a_journal_written_before_checksums_still_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older version's journal: no checksums, and a torn line it did not mark."""
    register_unit_test_fault(monkeypatch)
    path = tmp_path / "journal.jsonl"
    first = new_entry(TARGET, "unit-test-kind", None)
    second = new_entry(TARGET, "unit-test-kind", None)
    old = [json.dumps(first.to_record(), sort_keys=True), '{"detail": {}, "fault": "sto']
    old += [json.dumps(second.to_record(), sort_keys=True)]
    path.write_text("\n".join(old) + "\n")
    journal = Journal(path)
    found = journal.scan()
    assert found.legacy and [t.number for t in found.torn] == [2]
    assert [e.id for e in journal.open_entries()] == [first.id, second.id]
    assert all(r.ok for r in rollback(journal, lambda line: None))
    assert journal.open_entries() == []  # closed with checksummed lines after the old ones


def test_a_journal_path_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="is a directory"):
        Journal(tmp_path).records()


def register_unit_test_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    """For one test only: the registry is process-wide, and the bad-input table lists it."""
    monkeypatch.setitem(FAULTS, "unit-test-kind", UnitTestFault())


def json_lines(path: Path) -> list[dict[str, object]]:
    """The lines that parse (a torn fragment does not)."""
    parsed = []
    for line in path.read_text().splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return parsed


def flexchaos_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexchaos", *args], capture_output=True, text=True, timeout=60
    )
