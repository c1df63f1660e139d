"""A constructed timeline with the docs/internals.md schemas: one VM of six stopped then started.

Built from explicit rules (which VM is down when, which requests fail) so tests know the answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

T0 = 1_700_000_000.0
VMS = [f"vmss-web_{i}" for i in range(6)]
VICTIM = VMS[2]
INJECT, DOWN_FROM, PROBE_DOWN, REVERT, BACK_UP, END = 10.0, 10.5, 12.0, 20.0, 24.0, 30.0


def requests_frame(rate: float = 40.0, seed: int = 7) -> pd.DataFrame:
    """Requests spread over the VMs; those to the victim between DOWN_FROM and PROBE_DOWN fail."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.uniform(0, END, int(rate * END)))
    rows = []
    for i, t in enumerate(starts):
        vm = VMS[i % len(VMS)]
        if vm == VICTIM and PROBE_DOWN <= t < BACK_UP:
            vm = VMS[(i + 1) % len(VMS)]  # the LB no longer sends it traffic
        failed = vm == VICTIM and DOWN_FROM <= t < PROBE_DOWN
        rows.append(
            {
                "start": T0 + t,
                "latency_ms": float(rng.gamma(2.0, 4.0)),
                "ok": not failed,
                "status": 0 if failed else 200,
                "served_by": None if failed else vm,
                "error": "ConnectionResetError" if failed else None,
                "source": "locust" if i % 10 else "probe",
            }
        )
    return pd.DataFrame(rows)


def capacity_frame(interval: float = 0.5) -> pd.DataFrame:
    rows = []
    for t in np.arange(0, END + interval, interval):
        for vm in VMS:
            down = vm == VICTIM and INJECT + 1.0 <= t < BACK_UP
            rows.append(
                {
                    "time": T0 + float(t),
                    "instance": vm,
                    "power_state": "stopped" if down else "running",
                    "health_state": None if down else "healthy",
                    "running": not down,
                    "healthy": not down,
                }
            )
    return pd.DataFrame(rows)


def events_frame() -> pd.DataFrame:
    rows = [
        (0.0, "phase", None, None, "baseline"),
        (INJECT, "phase", None, None, "fault"),
        (INJECT, "inject", "stop", VICTIM, "begin_power_off"),
        (INJECT + 1.0, "injected", "stop", VICTIM, "stopped"),
        (REVERT, "phase", None, None, "recovery"),
        (REVERT, "revert", "stop", VICTIM, "begin_start"),
        (REVERT + 1.5, "reverted", "stop", VICTIM, "running"),
        (BACK_UP, "recovered", "stop", None, "healthy capacity back to baseline"),
    ]
    return pd.DataFrame(
        [{"time": T0 + t, "kind": k, "fault": f, "vm": v, "detail": d} for t, k, f, v, d in rows]
    )
