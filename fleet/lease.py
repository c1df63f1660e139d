"""One run per scale set at a time: a lease written as a tag on the scale set itself.

Two runs on one scale set race the guard: each reads "1 of 6 down", each takes one more down,
and both faults are judged by the other run's traffic. So a run holds a lease while the guard
reads and the fault is in. The lease is the tag `flexchaos-lease` on the scale set,

    flexchaos-lease = run=<run id>;host=<host>;pid=<pid>;expires=<UTC ISO time>

written with PATCH (VirtualMachineScaleSets_Update) and `If-Match: <the ETag just read>`: of
two runs that read the same ETag, Compute lets one write and answers the other 412
PreconditionFailed, so the loser re-reads, sees the winner's lease and is refused (exit 2, one
line naming the holder and its expiry). The holder renews it every third of its lifetime and
removes it at the end (finally blocks and signals unwind to `release`); a run killed with -9
leaves it to expire, and `flexchaos rollback` breaks one that expired or whose process is gone
from this host. The same SDK calls reach Azure and the emulator (which keeps an ETag too).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError

from fleet.azure_errors import translated
from fleet.journal import INJECTED, LEASED, Journal
from fleet.target import FleetTarget
from flexchaos.errors import BadInput, FlexchaosError, Unreachable

LEASE_TAG = "flexchaos-lease"
EMULATOR_TTL_S = 20.0  # wall seconds; renewed every third of it
AZURE_TTL_S = 300.0  # a PATCH on Azure can take seconds, and a renewal may be throttled
MAX_ATTEMPTS = 5  # If-Match races lost in a row before giving up (each re-reads the set)


def new_run_id() -> str:
    """A run id unique across hosts and processes (names of what the run creates derive it)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class LeaseRecord:
    """Who holds the scale set and until when (epoch seconds of the holder's clock)."""

    run: str
    host: str
    pid: int
    expires: float

    def text(self) -> str:
        return f"run={self.run};host={self.host};pid={self.pid};expires={_iso(self.expires)}"

    @classmethod
    def parse(cls, value: str | None) -> LeaseRecord | None:
        """The record in a tag value; None when absent or unreadable (it protects nothing)."""
        if not value:
            return None
        fields = dict(part.partition("=")[::2] for part in value.split(";"))
        try:
            expires = datetime.fromisoformat(fields["expires"].replace("Z", "+00:00"))
            return cls(fields["run"], fields["host"], int(fields["pid"]), expires.timestamp())
        except (KeyError, ValueError):
            return None

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires

    def process_gone(self) -> bool:
        """True only when the holder ran on this host and its process no longer exists."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def holder(self) -> str:
        return f"run {self.run} (pid {self.pid} on {self.host}) until {_iso(self.expires)}"


class LeaseHeld(BadInput):
    """Another run holds the scale set: refused before anything was read or changed."""

    def __init__(self, scale_set: str, record: LeaseRecord) -> None:
        super().__init__(
            f"scale set '{scale_set}' is in use by {record.holder()}; one run per scale set at "
            "a time: wait for that run to end (after a crash, `flexchaos rollback` frees it)"
        )
        self.record = record


class Lease:
    """The lease of one run on one scale set: check, acquire (renewed in a thread), release.

    `acquire` is idempotent for its holder; `lost` says why the lease was lost while held
    (another writer took the tag, or renewals failed past the expiry)."""

    def __init__(
        self,
        target: FleetTarget,
        run: str | None = None,
        ttl_s: float | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.run = run or new_run_id()
        self.ttl_s = ttl_s or (EMULATOR_TTL_S if target.endpoint.is_emulator else AZURE_TTL_S)
        self.say = say or (lambda line: None)
        self.lost: str | None = None
        self._record: LeaseRecord | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._record is not None and self.lost is None

    # -- the calls -----------------------------------------------------------------------------
    def _read(self) -> tuple[dict[str, str], str | None]:
        t = self.target
        with translated(f"read the lease of scale set '{t.scale_set}'"):
            body = t.clients.compute.virtual_machine_scale_sets.get(t.resource_group, t.scale_set)
        data = body.as_dict()
        return dict(data.get("tags") or {}), data.get("etag")

    def _write(self, tags: dict[str, str], etag: str | None, what: str) -> bool:
        """PATCH the tags if the ETag is still `etag`; False when another writer came first."""
        t = self.target
        kwargs: dict[str, Any] = {}
        if etag:
            kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        with translated(f"{what} on scale set '{t.scale_set}'"):
            try:
                poller = t.clients.compute.virtual_machine_scale_sets.begin_update(
                    t.resource_group, t.scale_set, {"tags": tags}, **kwargs
                )
                poller.result()
            except ResourceModifiedError:  # 412: re-read and decide again
                return False
        return True

    def current(self) -> LeaseRecord | None:
        """The lease on the scale set now, ours included (read-only)."""
        tags, _ = self._read()
        return LeaseRecord.parse(tags.get(LEASE_TAG))

    def check(self) -> None:
        """Read-only: LeaseHeld when another run holds a live lease on the scale set."""
        record = self.current()
        if record is not None and record.run != self.run and not record.expired():
            raise LeaseHeld(self.target.scale_set, record)

    def acquire(self, journal: Journal | None = None) -> None:
        """Take the lease (LeaseHeld when another run holds it) and keep renewing it. With a
        journal, the lease is journaled before its tag is written, as faults are: a run killed
        before its first fault leaves that line, and rollback breaks the lease it names."""
        if self.held:
            return
        if journal is not None:
            journal.record_leased(self.target, self.run)
        for _ in range(MAX_ATTEMPTS):
            tags, etag = self._read()
            record = LeaseRecord.parse(tags.get(LEASE_TAG))
            if record is not None and record.run != self.run and not record.expired():
                raise LeaseHeld(self.target.scale_set, record)
            mine = self._new_record()
            if self._write({**tags, LEASE_TAG: mine.text()}, etag, "take the run's lease"):
                self._record, self.lost = mine, None
                self._start_renewing()
                return
        raise BadInput(
            f"scale set '{self.target.scale_set}' changed {MAX_ATTEMPTS} times while this run "
            "took its lease; another writer is busy on it: try again later"
        )

    def renew(self) -> None:
        """Push the expiry on; a lease found taken by another run is marked lost."""
        with self._lock:
            if self._record is None:
                return
            for _ in range(MAX_ATTEMPTS):
                tags, etag = self._read()
                record = LeaseRecord.parse(tags.get(LEASE_TAG))
                if record is None or record.run != self.run:
                    self.lost = (
                        f"the lease on scale set '{self.target.scale_set}' was taken by "
                        + (record.holder() if record else "someone who removed it")
                    )
                    return
                mine = self._new_record()
                if self._write({**tags, LEASE_TAG: mine.text()}, etag, "renew the run's lease"):
                    self._record = mine
                    return

    def release(self) -> None:
        """Stop renewing and remove the tag if it is still ours (never raises: a lease left
        behind expires by itself)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        with self._lock:
            if self._record is None:
                return
            try:
                for _ in range(MAX_ATTEMPTS):
                    tags, etag = self._read()
                    record = LeaseRecord.parse(tags.get(LEASE_TAG))
                    if record is None or record.run != self.run:
                        break
                    rest = {k: v for k, v in tags.items() if k != LEASE_TAG}
                    if self._write(rest, etag, "release the run's lease"):
                        break
            except Exception as exc:
                self.say(f"flexchaos: lease not released ({exc}); it expires at "
                         f"{_iso(self._record.expires)}")  # fmt: skip
            self._record = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- helpers -------------------------------------------------------------------------------
    def _new_record(self) -> LeaseRecord:
        return LeaseRecord(self.run, socket.gethostname(), os.getpid(), time.time() + self.ttl_s)

    def _start_renewing(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._renew_loop, name="flexchaos-lease", daemon=True
        )
        self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.renew()
            except Exception as exc:
                record = self._record
                if record is not None and record.expired():
                    self.lost = f"the lease on scale set '{self.target.scale_set}' expired: {exc}"
            if self.lost:
                self.say(f"flexchaos: {self.lost}")
                return


def break_stale(target: FleetTarget) -> str | None:
    """For `flexchaos rollback`: remove a lease that expired or whose process is gone from this
    host. Returns what was done (None when there was no lease); a live lease is left alone."""
    lease = Lease(target, run="rollback")
    for _ in range(MAX_ATTEMPTS):
        tags, etag = lease._read()
        record = LeaseRecord.parse(tags.get(LEASE_TAG))
        if LEASE_TAG not in tags:
            return None
        if record is not None and not record.expired() and not record.process_gone():
            return f"lease kept: scale set '{target.scale_set}' is in use by {record.holder()}"
        rest = {k: v for k, v in tags.items() if k != LEASE_TAG}
        if lease._write(rest, etag, "break a stale lease"):
            why = "unreadable" if record is None else (
                "expired" if record.expired() else f"its process {record.pid} is gone"
            )  # fmt: skip
            shown = record.holder() if record else tags[LEASE_TAG]
            return f"broke the stale lease of {shown} on scale set '{target.scale_set}' ({why})"
    return f"lease on scale set '{target.scale_set}' kept changing; left as it is"


def break_stale_leases(journal: Journal, out: Callable[[str], None] = print) -> None:
    """`flexchaos rollback`'s last step: break the stale leases on the scale sets the journal
    names (a killed run leaves its lease behind), one line each; a set that cannot be reached
    is said so and skipped (its lease expires by itself)."""
    seen: dict[tuple[str, str, str, str], FleetTarget] = {}
    for record in journal.records():
        if record.get("record") not in (INJECTED, LEASED):
            continue
        if not isinstance(record.get("target"), dict):
            continue
        try:
            target = FleetTarget.from_json(record["target"])
        except (KeyError, TypeError, ValueError):
            continue
        key = (target.endpoint.arm_url, target.subscription_id, target.resource_group,
               target.scale_set)  # fmt: skip
        seen[key] = target
    for target in seen.values():
        try:
            done = break_stale(target)
        except FlexchaosError as exc:
            if not (target.endpoint.is_emulator and isinstance(exc, Unreachable)):
                out(f"lease of scale set '{target.scale_set}' not checked: {exc}")
            continue  # an emulator that is gone took its lease with it
        if done:
            out(done)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
