"""The crash-safe journal: one JSON line per fact, fsynced before the fault it announces.

An "injected" record is appended (and fsynced) *before* the mutating call, carrying everything
a revert needs with no other input: the fleet (endpoint, token if emulator, subscription,
resource group, scale set), the VM, the fault, the original settings and the time. A "reverted"
record with the same id closes it. Open entries = injected without reverted; `flexchaos
rollback` reverts them. The file is append-only, so a killed run leaves at most a torn last
line, which reading skips.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

DEFAULT_JOURNAL = Path(".flexchaos/journal.jsonl")  # flexchaos.workdir.WorkDir().journal
INJECTED = "injected"
REVERTED = "reverted"


@dataclass(frozen=True)
class JournalEntry:
    """One injected fault: what, where, and the data its revert needs."""

    id: str
    time: float
    fault: str
    vm: str | None
    target: dict[str, Any] = field(hash=False)
    revert: dict[str, Any] = field(default_factory=dict, hash=False)
    run: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, hash=False)

    def fleet(self) -> FleetTarget:
        return FleetTarget.from_json(self.target)

    def to_record(self) -> dict[str, Any]:
        return {"record": INJECTED, **asdict(self)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> JournalEntry:
        return cls(
            id=record["id"],
            time=float(record["time"]),
            fault=record["fault"],
            vm=record.get("vm"),
            target=record["target"],
            revert=record.get("revert") or {},
            run=record.get("run"),
            detail=record.get("detail") or {},
        )


def new_entry(
    target: FleetTarget,
    fault: str,
    vm: str | None,
    *,
    revert: dict[str, Any] | None = None,
    run: str | None = None,
    detail: dict[str, Any] | None = None,
) -> JournalEntry:
    return JournalEntry(
        id=uuid.uuid4().hex,
        time=time.time(),
        fault=fault,
        vm=vm,
        target=target.to_json(),
        revert=revert or {},
        run=run,
        detail=detail or {},
    )


class Journal:
    """Append-only JSON lines at `path`; safe to share between threads of one process."""

    def __init__(self, path: Path | str = DEFAULT_JOURNAL) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with self._lock:
            created = not self.path.exists()
            if created:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if _ends_torn(fd):  # a killed writer left half a line: start on a new one
                    line = "\n" + line
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)

    def record_injected(self, entry: JournalEntry) -> None:
        """Durably announce a fault; call before the mutating call."""
        self._append(entry.to_record())

    def record_reverted(self, entry_id: str, outcome: str) -> None:
        self._append({"record": REVERTED, "id": entry_id, "time": time.time(), "outcome": outcome})

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        records: list[dict[str, Any]] = []
        for line in self.path.read_text().splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line from a killed writer
            if isinstance(record, dict) and "id" in record:
                records.append(record)
        return records

    def open_entries(self) -> list[JournalEntry]:
        """Entries injected and not yet reverted, oldest first."""
        records = self.records()
        closed = {r["id"] for r in records if r.get("record") == REVERTED}
        return [
            JournalEntry.from_record(r)
            for r in records
            if r.get("record") == INJECTED and r["id"] not in closed
        ]


def _ends_torn(fd: int) -> bool:
    """True when the file is not empty and its last byte is not a newline."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def require_journal(path: Path | str) -> Journal:
    """A journal that must exist (for rollback): a missing file is a one-line error."""
    journal = Journal(path)
    if not journal.path.exists():
        raise FlexchaosError(f"journal {journal.path} does not exist; pass --journal PATH")
    return journal


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
