"""The journal's line format and its integrity: every line carries a checksum of itself.

A line is one JSON object with a `check` field: the first 16 hex digits of the SHA-256 of the
object without that field, serialised as it was written (sorted keys). Reading tells three
kinds of imperfect line apart, because they call for different things:

- a **torn last line** — the file does not end with a newline and its last line does not
  verify: a run was killed in the middle of a write. Its record never reached the disk, so
  the call it announced was never made (the journal is written and fsynced first); reading
  goes on with the complete lines and says so.
- a **torn line acknowledged** — a later writer found the file ending mid-line, started a new
  line and wrote a `torn` record saying so: the same case, found by the next run.
- **damage** — any other line that does not verify (a bad checksum, not JSON, not a record, a
  line without a checksum after lines with one): nobody can tell what it said, so rollback
  must not guess. `JournalDamaged` (bad input, exit 2) names the line and what to check.

Journals written before checksums existed have none on any line: they are read as before
(a line that does not parse and starts like a record is taken for a torn one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexchaos.errors import BadInput

CHECK = "check"
TORN = "torn"  # the record a writer appends after finding the file ending mid-line
RECORD_KINDS = ("injected", "landed", "reverted", "leased", TORN)


class JournalDamaged(BadInput):
    """A journal line that is neither complete nor a torn last write: rollback stops."""


def checksum(record: dict[str, Any]) -> str:
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(record: dict[str, Any]) -> str:
    """One journal line (without its newline), checksummed."""
    plain = json.loads(json.dumps(record, default=str))  # what reading it back will give
    return json.dumps({**plain, CHECK: checksum(plain)}, sort_keys=True)


@dataclass(frozen=True)
class TornLine:
    """A line a killed writer left unfinished: where it is and how long it was."""

    number: int
    size: int
    acknowledged: bool  # a later writer saw it and wrote a `torn` record after it

    def text(self, path: Path) -> str:
        where = "the last line" if not self.acknowledged else f"line {self.number}"
        return (
            f"{path}: {where} ({self.size} bytes) was cut short by a run killed mid-write; "
            "its record never reached the disk, so the call it announced was never made: "
            "ignored, the complete entries are read"
        )


@dataclass
class Scan:
    """What reading a journal found: its records (checks removed) and any torn lines."""

    records: list[dict[str, Any]] = field(default_factory=list)
    torn: list[TornLine] = field(default_factory=list)
    legacy: bool = False  # written by a version without checksums


def scan(path: Path, data: bytes) -> Scan:
    """Read every line of a journal's bytes; JournalDamaged for a line that is not readable."""
    result = Scan()
    lines = data.split(b"\n")
    ends_torn = bool(data) and not data.endswith(b"\n")
    checked_seen = False
    pending: tuple[int, bytes] | None = None  # a fragment: torn if what follows says so
    for index, raw in enumerate(lines):
        number = index + 1
        if not raw.strip():
            continue
        record, problem = _parse(raw)
        if record is not None and CHECK in record:
            if record.pop(CHECK) != checksum(record):
                record, problem = None, "its checksum does not match its content"
            else:
                checked_seen = True
        elif record is not None:
            if checked_seen:
                record, problem = None, "it has no checksum, unlike the lines before it"
            else:
                result.legacy = True
        if pending is not None:
            fragment_number, fragment = pending
            pending = None
            acknowledged = record is not None and record.get("record") == TORN
            # An older writer (no checksums) started a new line without saying so.
            older = record is not None and result.legacy
            if not fragment.startswith(b'{"') or not (acknowledged or older):
                raise _damaged(path, fragment_number, _unreadable(fragment))
            result.torn.append(TornLine(fragment_number, len(fragment), acknowledged=True))
            if acknowledged:
                continue
        if record is None:
            if problem != "not JSON":
                raise _damaged(path, number, problem)
            if index == len(lines) - 1 and ends_torn and raw.startswith(b'{"'):
                result.torn.append(TornLine(number, len(raw), acknowledged=False))
            else:
                pending = (number, raw)
            continue
        if record.get("record") == TORN:
            raise _damaged(path, number, "it reports a torn line where there is none")
        result.records.append(record)
    if pending is not None:
        raise _damaged(path, pending[0], _unreadable(pending[1]))
    return result


def _unreadable(fragment: bytes) -> str:
    if fragment.startswith(b'{"'):
        return "it is not a complete record, and no torn record follows it"
    return "not JSON"


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "not JSON"
    if not isinstance(record, dict):
        return None, "it is JSON but not a journal record"
    kind = record.get("record")
    if kind not in RECORD_KINDS or (kind != TORN and not isinstance(record.get("id"), str)):
        return None, "it is JSON but not a journal record (no known `record` kind and `id`)"
    return record, ""


def _damaged(path: Path, number: int, problem: str) -> JournalDamaged:
    return JournalDamaged(
        f"journal {path} is damaged at line {number} ({problem}); nothing was rolled back: "
        "check that file (a hand edit? a full or failing disk? another program writing to "
        "it?), repair or remove that line, then run `flexchaos rollback` again"
    )
