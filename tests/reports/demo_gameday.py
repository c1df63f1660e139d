"""A small game day built from constructed timelines, for report tests and screenshots.

Not collected by the suite (no test_ prefix): tests run it in a subprocess with --alluredir.
It calls the same Allure glue the pytest plugin calls, with one step per lifecycle phase.
FLEXCHAOS_DEMO_SLOWER (a factor) stretches the failover so a second run shows a trend.
"""

from __future__ import annotations

import os

import allure
import pandas as pd

from probes.measures import Clock
from probes.timeline import Timeline
from reports import allure_attachments as aa
from reports.chart import render_timeline
from reports.targets import Targets
from reports.verdict import inconclusive, judge
from tests.reports import timelines as tl

TIME_SCALE = 0.02
SLOWER = float(os.environ.get("FLEXCHAOS_DEMO_SLOWER", "1.0"))
ZONE_3 = (tl.VMS[2], tl.VMS[5])
LIMITS = {
    "min_healthy_capacity": 0.8,
    "max_failover_time_s": 30.0,
    "max_error_rate": 0.05,
    "max_p95_latency_ms": 1000.0,
    "max_recovery_time_s": 180.0,
}


def _run(name: str, fault: str, story: str, scenario: str, hypothesis: str, measured: dict,
         zone: str, limits: dict | None = None, victims: tuple = (tl.VICTIM,)) -> None:  # fmt: skip
    aa.describe(title=story, scenario=scenario, hypothesis=hypothesis)
    aa.label_experiment(fault=fault, story=story, zones=[zone])
    aa.set_parameters(
        vms=list(victims), seed=42, scale_set="vmss-web (emulator)", time_scale=TIME_SCALE
    )
    requests = tl.requests_frame(victims=victims)
    capacity = tl.capacity_frame(victims=victims)
    events = tl.events_frame(victims=victims, fault=fault)
    with allure.step("preflight: resolve the scale set, guard, evidence"):
        aa.attach_evidence({"vms": tl.VMS, "orchestrationMode": "Flexible"})
    with allure.step("steady state: baseline under load"):
        pass
    with allure.step(f"inject: {fault} {', '.join(victims)}"):
        aa.attach_journal([{"fault": fault, "vm": vm, "state": "injected"} for vm in victims])
    with allure.step("hold and observe"):
        pass
    with allure.step("revert and recover"):
        pass
    with allure.step("judge"):
        verdict = judge(Targets(name, {**LIMITS, **(limits or {})}), measured,
                        time_scale=TIME_SCALE)  # fmt: skip
        png = render_timeline(Timeline.build(requests, capacity, events),
                              title=f"{name}: {story}", clock=Clock(TIME_SCALE))  # fmt: skip
        aa.present_verdict(verdict, scenario=scenario, hypothesis=hypothesis, chart_png=png)
        aa.attach_requests_csv(requests)
        aa.attach_timeline_csv(capacity, "capacity samples")
        aa.attach_timeline_csv(events, "fault events")
    with allure.step("postflight: evidence and drift"):
        aa.attach_evidence(None, {"vms": tl.VMS}, {"changed": []})
    verdict.check()


def measured(failover_wall: float, recovery_wall: float, victims: tuple = (tl.VICTIM,),
             **extra: float) -> dict:  # fmt: skip
    requests = tl.requests_frame(victims=victims)
    base = {
        "min_healthy_capacity": 5 / 6,
        "failover_time_s": failover_wall * SLOWER,
        "recovery_time_s": recovery_wall,
        "error_rate": float((~requests["ok"]).mean()),
        "p95_latency_ms": float(requests["latency_ms"].quantile(0.95)),
    }
    return {**base, **extra}


def test_stop_vm() -> None:
    _run("test_stop_vm", "stop", "Stop one VM",
         "Power off one VM of the scale set, start it again after the hold.",
         "The load balancer takes the VM out within one probe interval; 5/6 keep serving.",
         measured(0.30, 2.6), zone="2")  # fmt: skip


def test_zone_down() -> None:
    _run("test_zone_down", "zone down", "One zone down",
         "Stop both VMs of zone 3, start them after the hold.",
         "Two zones carry the load: 4/6 healthy, errors only during failover.",
         measured(0.72, 3.0, ZONE_3, min_healthy_capacity=4 / 6), zone="3",
         limits={"min_healthy_capacity": 0.6}, victims=ZONE_3)  # fmt: skip


def test_spot_eviction() -> None:
    scenario = "Simulate the eviction of a Spot VM."
    hypothesis = "After the 30 s notice the VM leaves; 5/6 keep serving."
    aa.describe(title="Evict a Spot VM", scenario=scenario, hypothesis=hypothesis)
    aa.label_experiment(fault="evict", story="Evict a Spot VM", zones=["1"])
    reason = "baseline healthy capacity 5/6, expected 6/6"
    verdict = inconclusive(Targets("test_spot_eviction", LIMITS), reason, time_scale=TIME_SCALE)
    baseline_only = pd.DataFrame(
        {"time": [tl.T0], "kind": ["phase"], "fault": [None], "vm": [None], "detail": ["baseline"]}
    )
    png = render_timeline(
        Timeline.build(None, tl.capacity_frame(), baseline_only),
        title="test_spot_eviction: baseline only",
    )
    aa.present_verdict(verdict, scenario=scenario, hypothesis=hypothesis, chart_png=png)
    verdict.check()


def test_chaos_studio_shutdown() -> None:
    """A Chaos Studio run whose fault never landed: every figure within its limit, and still
    inconclusive — its page says so in its first sentence."""
    scenario = "A Chaos Studio experiment with the per-VM Shutdown-1.0 fault on one VM."
    hypothesis = "Chaos Studio takes one VM out; the load balancer takes it out of rotation."
    aa.describe(title="Chaos Studio shutdown", scenario=scenario, hypothesis=hypothesis)
    aa.label_experiment(fault="chaos-shutdown", story="Chaos Studio shutdown", zones=["2"])
    untouched = (tl.VICTIM,)
    verdict = judge(
        Targets("test_chaos_studio_shutdown", LIMITS),
        {**measured(0.0, 0.0), "min_healthy_capacity": 1.0, "error_rate": 0.0},
        time_scale=TIME_SCALE,
    ).as_inconclusive(
        f"fault not exercised: the Chaos Studio execution ended Failed and {tl.VICTIM} was "
        "never seen leaving running"
    )
    png = render_timeline(
        Timeline.build(tl.requests_frame(victims=()), tl.capacity_frame(victims=()),
                       tl.events_frame(victims=untouched, fault="chaos-shutdown")),
        title="test_chaos_studio_shutdown: the fault never landed", clock=Clock(TIME_SCALE),
    )  # fmt: skip
    aa.present_verdict(verdict, scenario=scenario, hypothesis=hypothesis, chart_png=png)
    verdict.check()
