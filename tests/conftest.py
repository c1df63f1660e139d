"""Shared fixtures: a real emulator process per test module, and SDK clients pointed at it.

Tests run the emulator with a small time scale so Azure's minutes pass in seconds; they still
wait for conditions with deadlines (tests/waiting.py), never with bare sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from fleet.clients import Clients, Endpoint

TEST_TIME_SCALE = 0.02


@pytest.fixture(scope="module")
def start_emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningEmulator]]:
    """Factory: start an emulator from topology TOML text and options; all stopped after."""
    started: list[RunningEmulator] = []
    workdir = tmp_path_factory.mktemp("emulator")

    def start(
        topology: str | None = None,
        time_scale: float = TEST_TIME_SCALE,
        args: list[str] | None = None,
    ) -> RunningEmulator:
        topology_path: Path | None = None
        if topology is not None:
            topology_path = workdir / f"topology-{len(started)}.toml"
            topology_path.write_text(topology)
        emulator = RunningEmulator(
            topology=topology_path,
            time_scale=time_scale,
            extra_args=args,
            log_path=workdir / f"emulator-{len(started)}.log",
        )
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """The default topology (6 VMs over 3 zones, 2 Spot), one per test module."""
    return start_emulator()


def clients_for(emulator: RunningEmulator) -> Clients:
    info = emulator.info
    return Clients(Endpoint(info.arm_url, emulator_token=info.token), info.subscription_id)


@pytest.fixture(scope="module")
def clients(emulator: RunningEmulator) -> Clients:
    return clients_for(emulator)
