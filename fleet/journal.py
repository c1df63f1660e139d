"""The crash-safe journal: one JSON line per fact, fsynced before the fault it announces.

An "injected" record is appended (and fsynced) *before* the mutating call, carrying everything
a revert needs with no other input: the fleet (endpoint, token if emulator, subscription,
resource group, scale set), the VM, the fault, the original settings and the time. A "reverted"
record with the same id closes it; a "landed" record in between says the fault's inject call
returned (the fault is in), so that a rollback can tell "never landed" from "already
reverted". Open entries = injected without reverted; `flexchaos rollback` reverts them.

Every line is checksummed (fleet/journal_lines.py). The file is append-only, so a killed run
leaves at most a torn last line: reading reports it and goes on with the complete lines, and
the next writer marks it with a "torn" record. Any other unreadable line is damage: reading
raises JournalDamaged (bad input) rather than guess what the line said.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fleet.journal_lines import TORN, Scan, encode, scan
from fleet.target import FleetTarget
from flexchaos.errors import BadInput, FlexchaosError

DEFAULT_JOURNAL = Path(".flexchaos/journal.jsonl")  # flexchaos.workdir.WorkDir().journal
INJECTED = "injected"
LANDED = "landed"
REVERTED = "reverted"
# A run took the lease on a scale set (fleet/lease.py): written before the tag, so that
# `flexchaos rollback` knows where a run killed before its first fault left its lease.
LEASED = "leased"


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
    # When a "landed" record said the inject call returned (read back, never written here).
    landed_at: float | None = field(default=None, compare=False)

    def fleet(self) -> FleetTarget:
        return FleetTarget.from_json(self.target)

    def to_record(self) -> dict[str, Any]:
        record = {"record": INJECTED, **asdict(self)}
        del record["landed_at"]
        return record

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
        line = encode(record) + "\n"
        with self._lock:
            created = not self.path.exists()
            if created:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if _ends_torn(fd):  # a killed writer left half a line: close it, say so
                    line = "\n" + encode({"record": TORN, "time": time.time()}) + "\n" + line
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)

    def record_injected(self, entry: JournalEntry) -> None:
        """Durably announce a fault; call before the mutating call."""
        self._append(entry.to_record())

    def record_leased(self, target: FleetTarget, run: str) -> None:
        """Before a run writes its lease tag: where rollback must look for a stale lease."""
        self._append(
            {"record": LEASED, "id": uuid.uuid4().hex, "time": time.time(),
             "target": target.to_json(), "run": run}
        )  # fmt: skip

    def record_landed(self, entry_id: str) -> None:
        """The fault's inject call returned: it is in (a revert now has something to undo)."""
        self._append({"record": LANDED, "id": entry_id, "time": time.time()})

    def record_reverted(self, entry_id: str, outcome: str) -> None:
        self._append({"record": REVERTED, "id": entry_id, "time": time.time(), "outcome": outcome})

    def scan(self) -> Scan:
        """Every readable record and the torn lines found; JournalDamaged for damage, BadInput
        when the file cannot be read at all."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Scan()
        except IsADirectoryError:
            raise BadInput(f"journal {self.path} is a directory; pass the journal file") from None
        except OSError as exc:
            raise BadInput(
                f"journal {self.path} cannot be read ({exc.strerror}); check its permissions"
            ) from None
        return scan(self.path, data)

    def records(self) -> list[dict[str, Any]]:
        return self.scan().records

    def open_entries(self, records: list[dict[str, Any]] | None = None) -> list[JournalEntry]:
        """Entries injected and not yet reverted, oldest first, with when each landed."""
        records = self.records() if records is None else records
        closed = {r["id"] for r in records if r.get("record") == REVERTED}
        landed = {r["id"]: float(r["time"]) for r in records if r.get("record") == LANDED}
        try:
            return [
                replace(JournalEntry.from_record(r), landed_at=landed.get(r["id"]))
                for r in records
                if r.get("record") == INJECTED and r["id"] not in closed
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(
                f"journal {self.path} has an injected record without its {exc} field; check "
                "that file (written by another program?) and run `flexchaos rollback` again"
            ) from None


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
