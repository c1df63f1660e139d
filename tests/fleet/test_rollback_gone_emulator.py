"""Rollback of entries whose emulator is gone: nothing is left to revert, so they are closed.

An Azure endpoint that cannot be reached is different: its entries stay open for the next
rollback, since the VMs are still out there.
"""

from __future__ import annotations

import socket
from pathlib import Path

from fleet.clients import Endpoint
from fleet.journal import Journal, new_entry
from fleet.rollback import rollback
from fleet.target import FleetTarget


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _target(kind: str) -> FleetTarget:
    return FleetTarget(
        Endpoint(_closed_port_url(), emulator_token="emulator" if kind == "emulator" else None),
        "00000000-0000-0000-0000-00000000c0de", "rg", "vmss-web", kind=kind,  # type: ignore[arg-type]
    )  # fmt: skip


def test_entries_of_a_gone_emulator_are_closed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_injected(new_entry(_target("emulator"), "stop", "vmss-web_0001"))
    lines: list[str] = []
    results = rollback(journal, out=lines.append, timeout_s=5)
    assert [r.ok for r in results] == [True]
    assert "no longer running" in results[0].outcome
    assert journal.open_entries() == []


def test_entries_of_an_unreachable_azure_endpoint_stay_open(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_injected(new_entry(_target("azure"), "stop", "vmss-web_0001"))
    results = rollback(journal, out=lambda line: None, timeout_s=5)
    assert [r.ok for r in results] == [False]
    assert len(journal.open_entries()) == 1
