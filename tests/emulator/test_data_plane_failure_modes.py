"""How the emulator's data plane fails, end to end: a real emulator process, the Azure SDK for
the faults, real HTTP through the load balancer's frontend, ground truth to check against.

- new flows to a VM that is not running get no answer (black-holed) until its probe marks it
  down; `[load_balancer] stopped_vm_flows = "refuse"` resets them at once instead;
- a guest shutdown (powerOff without skipShutdown, deallocate) refuses new flows and lets
  in-flight requests finish;
- Binary health states never report Initializing; Rich ones report Initializing and Unknown;
- platform durations come from the topology's [timings] (a calibration override).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulator.launcher import RunningEmulator
from fleet.clients import Clients
from flexchaos.request_timeouts import MIN_WALL_TIMEOUT_S, probe_timeout
from probes.traffic import TrafficProbe
from tests.conftest import clients_for
from tests.waiting import wait_for

# Probes every 60 s (1.2 s wall at 0.02), two failures to take a VM out, and a power off that
# lasts 300 s (6 s wall, a [timings] override): the stopping VM stays probed long enough that
# new flows reach it for over a second before the probe takes it out, whatever the probe phase.
BASE = """
[scale_set]
vm_count = 3
spot_count = 0
zones = ["1"]
[load_balancer]
probe_interval_in_seconds = 60
probe_threshold = 2
{lb_extra}
[health_extension]
{ext_extra}
[automatic_repairs]
enabled = false
[timings]
power_off = 300
"""
CLIENT_TIMEOUT_S = 0.25
MAX_REQUESTS = 5000


@dataclass(frozen=True)
class Outcome:
    start: float
    seconds: float
    error: str | None  # None: 200; else the exception's type name


def _get(client: httpx.Client, url: str) -> Outcome:
    start = time.time()
    began = time.perf_counter()
    try:
        response = client.get(url)
        error = None if response.status_code == 200 else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return Outcome(start, time.perf_counter() - began, error)


def _first(emulator: RunningEmulator, kind: str, vm: str, since: float) -> dict[str, Any] | None:
    events = [e for e in emulator.client.truth(kind=kind, vm=vm) if e["time"] >= since]
    return min(events, key=lambda e: e["time"]) if events else None


def _new_flows_until_probe_down(emulator: RunningEmulator, vm: str, since: float) -> list[Outcome]:
    """Requests on new connections through the LB until the probe takes `vm` out (bounded)."""
    outcomes: list[Outcome] = []
    headers = {"Connection": "close"}
    with httpx.Client(timeout=CLIENT_TIMEOUT_S, headers=headers) as client:
        deadline = time.monotonic() + 20
        while _first(emulator, "probe_down", vm, since) is None:
            assert time.monotonic() < deadline and len(outcomes) < MAX_REQUESTS
            outcomes.append(_get(client, emulator.info.lb_url or ""))
    return outcomes


def _lb(emulator: RunningEmulator) -> dict[str, Any]:
    return httpx.get(emulator.info.arm_url + "/_emulator/lb", timeout=5).json()


def _regular_vms(clients: Clients, emulator: RunningEmulator) -> list[str]:
    rg = emulator.info.resource_group
    return sorted(vm.name for vm in clients.compute.virtual_machines.list(rg))


@pytest.fixture(scope="module")
def blackhole(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(BASE.format(lb_extra="", ext_extra=""))


@pytest.fixture(scope="module")
def refuse_rich(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(
        BASE.format(lb_extra='stopped_vm_flows = "refuse"', ext_extra='health_states = "rich"')
    )


def test_new_flows_to_an_abruptly_stopped_vm_get_no_answer_until_the_probe_marks_it_down(
    blackhole: RunningEmulator,
) -> None:
    emulator, clients = blackhole, clients_for(blackhole)
    victim = _regular_vms(clients, emulator)[0]
    held_before = _lb(emulator)["held_flows"]
    since = time.time()
    poller = clients.compute.virtual_machines.begin_power_off(
        emulator.info.resource_group, victim, skip_shutdown=True
    )
    outcomes = _new_flows_until_probe_down(emulator, victim, since)
    app_down = _first(emulator, "app_down", victim, since)
    probe_down = _first(emulator, "probe_down", victim, since)
    assert app_down is not None and probe_down is not None
    assert app_down["mode"] == "abrupt"
    failed = [o for o in outcomes if o.error is not None]
    assert failed, "new flows hashed to the stopped VM must fail until its probe notices"
    # no answer at all: every failure is the client's own timeout, none a reset or refusal
    assert {o.error for o in failed} == {"ReadTimeout"}, {o.error for o in failed}
    assert all(o.seconds >= CLIENT_TIMEOUT_S * 0.9 for o in failed)
    assert all(o.start < probe_down["time"] for o in failed)
    assert _lb(emulator)["held_flows"] - held_before >= len(failed)
    # the probe of a VM that does not answer times out (a stopping VM is still probed)
    backend = next(b for b in _lb(emulator)["backends"] if b["vm"] == victim)
    assert backend["blackholed"] is True
    # ... and Azure's health status names it: no TCP answer within the probe's time
    rg, lb_name = emulator.info.resource_group, emulator.info.load_balancer or ""
    health = clients.network.load_balancer_load_balancing_rules.begin_health(
        rg, lb_name, "http"
    ).result()
    entry = next(
        a for a in health.load_balancer_backend_addresses if a.ip_address == backend["address"]
    )
    assert (entry.state, entry.reason) == ("Down", "Down_Probe_TcpProbeTimeout")
    poller.result()
    stopping = _first(emulator, "power_state", victim, since)
    stopped = [
        e for e in emulator.client.truth(kind="power_state", vm=victim) if e["to"] == "stopped"
    ]
    # the [timings] power_off override (300 s) is what the transition took, scaled
    assert stopping is not None and stopped
    assert stopped[-1]["time"] - stopping["time"] >= 0.9 * 300 * emulator.info.time_scale


def test_refusal_setting_resets_new_flows_to_a_stopped_vm_at_once(
    refuse_rich: RunningEmulator,
) -> None:
    emulator, clients = refuse_rich, clients_for(refuse_rich)
    victim = _regular_vms(clients, emulator)[0]
    since = time.time()
    poller = clients.compute.virtual_machines.begin_power_off(
        emulator.info.resource_group, victim, skip_shutdown=True
    )
    outcomes = _new_flows_until_probe_down(emulator, victim, since)
    failed = [o for o in outcomes if o.error is not None]
    assert failed, "new flows hashed to the stopped VM must fail until its probe notices"
    assert "ReadTimeout" not in {o.error for o in failed}  # reset, not left waiting
    assert all(o.seconds < CLIENT_TIMEOUT_S * 0.8 for o in failed)
    assert _lb(emulator)["held_flows"] == 0
    poller.result()


def test_a_graceful_deallocate_refuses_new_flows_and_finishes_in_flight_requests(
    blackhole: RunningEmulator,
) -> None:
    """Deallocate shuts the guest down, as powerOff without skipShutdown does: its app stops
    accepting (the guest still answers, with a reset) and finishes what it is serving."""
    emulator, clients = blackhole, clients_for(blackhole)
    rg = emulator.info.resource_group
    running = [b for b in _lb(emulator)["backends"] if b["state"] == "up" and not b["blackholed"]]
    target = running[-1]
    in_flight: list[Outcome] = []
    slow_url = f"http://{target['address']}:{target['port']}/?delay_ms=400"

    def slow_request() -> None:
        with httpx.Client(timeout=5) as client:
            in_flight.append(_get(client, slow_url))

    thread = threading.Thread(target=slow_request)
    thread.start()
    wait_for(lambda: _app(emulator, target["vm"])["in_flight"] >= 1, timeout=5, what="in flight")
    since = time.time()
    poller = clients.compute.virtual_machines.begin_deallocate(rg, target["vm"])
    app_down = wait_for(
        lambda: _first(emulator, "app_down", target["vm"], since), timeout=10, what="app down"
    )
    assert app_down["mode"] == "graceful"
    with httpx.Client(timeout=2) as client:  # the guest is shutting down: refused, not silent
        refused = _get(client, f"http://{target['address']}:{target['port']}/")
    assert refused.error == "ConnectError" and refused.seconds < 1.0
    thread.join(timeout=10)
    assert in_flight and in_flight[0].error is None, in_flight
    poller.result()


def _app(emulator: RunningEmulator, vm: str) -> dict[str, Any]:
    response = httpx.get(f"{emulator.info.arm_url}/_emulator/vms/{vm}/app", timeout=5)
    response.raise_for_status()
    return response.json()


def test_binary_health_states_never_report_initializing(blackhole: RunningEmulator) -> None:
    emulator, clients = blackhole, clients_for(blackhole)
    rg = emulator.info.resource_group
    vm = _regular_vms(clients, emulator)[1]
    extension = clients.compute.virtual_machine_extensions.get(rg, vm, "ApplicationHealthLinux")
    assert extension.type_handler_version == "1.0"
    since = time.time()
    clients.compute.virtual_machines.begin_restart(rg, vm).result()
    wait_for(
        lambda: _first(emulator, "health_state", vm, since), timeout=10, what="a health report"
    )
    states = [e["state"] for e in emulator.client.truth(kind="health_state")]
    assert "Initializing" not in states and "Unknown" not in states
    assert states[-1] == "Healthy"


def test_rich_health_states_report_initializing_and_unknown(refuse_rich: RunningEmulator) -> None:
    emulator, clients = refuse_rich, clients_for(refuse_rich)
    rg = emulator.info.resource_group
    vm = _regular_vms(clients, emulator)[2]
    extensions = clients.compute.virtual_machine_extensions
    extension = extensions.get(rg, vm, "ApplicationHealthLinux")
    assert extension.type_handler_version == "2.0"
    # a settings change restarts the handler: Initializing until two valid answers in a row
    twice = {**dict(extension.settings), "numberOfProbes": 2}
    since = time.time()
    extensions.begin_update(
        rg, vm, "ApplicationHealthLinux", {"properties": {"settings": twice}}
    ).result()
    wait_for(
        lambda: [e["state"] for e in emulator.client.truth(kind="health_state", vm=vm)
                 if e["time"] >= since][-2:] == ["Initializing", "Healthy"],
        timeout=10,
        what="Initializing, then Healthy",
    )  # fmt: skip
    # an answer without {"ApplicationHealthState": ...} is Unknown once the grace period ends
    settings = {**twice, "requestPath": "/"}
    extensions.begin_update(
        rg, vm, "ApplicationHealthLinux", {"properties": {"settings": settings}}
    ).result()

    def vm_health() -> str | None:
        view = clients.compute.virtual_machines.get(rg, vm, expand="instanceView").instance_view
        return view.vm_health.status.code if view and view.vm_health else None

    wait_for(lambda: vm_health() == "HealthState/unknown", timeout=10, what="vmHealth unknown")


def test_the_traffic_probe_counts_a_black_holed_flow_as_failed_after_its_timeout(
    blackhole: RunningEmulator,
) -> None:
    """The harness's own client: a request the load balancer black-holes is a failed request
    whose latency is the probe's timeout (flexchaos/request_timeouts.py), not a hang."""
    emulator, clients = blackhole, clients_for(blackhole)
    up = [b["vm"] for b in _lb(emulator)["backends"] if b["state"] == "up" and not b["blackholed"]]
    assert len(up) == 1, up  # the tests above took the others out: every new flow lands on it
    timeout_s = probe_timeout(emulator.info.time_scale)
    assert timeout_s == MIN_WALL_TIMEOUT_S  # 2 platform seconds are far below the floor here
    probe = TrafficProbe(emulator.info.lb_url or "", timeout_s=timeout_s)
    since = time.time()
    poller = clients.compute.virtual_machines.begin_power_off(
        emulator.info.resource_group, up[0], skip_shutdown=True
    )
    try:
        row = probe.request_once()
    finally:
        probe.stop()
    poller.result()
    probe_down = _first(emulator, "probe_down", up[0], since)
    assert probe_down is None or row["start"] < probe_down["time"]
    assert row["ok"] is False and str(row["error"]).startswith("ReadTimeout"), row
    assert timeout_s * 1000 * 0.95 <= row["latency_ms"] < timeout_s * 1000 + 500
