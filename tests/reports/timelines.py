"""A constructed timeline with the docs/internals.md schemas: one VM of six stopped then started.

Built from explicit rules (which VM is down when, which requests fail) so tests know the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

T0 = 1_700_000_000.0
VMS = [f"vmss-web_{i}" for i in range(6)]
VICTIM = VMS[2]
INJECT, DOWN_FROM, PROBE_DOWN, REVERT, BACK_UP, END = 10.0, 10.5, 12.0, 20.0, 24.0, 30.0


def requests_frame(
    rate: float = 40.0, seed: int = 7, victims: Sequence[str] = (VICTIM,)
) -> pd.DataFrame:
    """Requests spread over the VMs; those to a victim between DOWN_FROM and PROBE_DOWN fail."""
    rng = np.random.default_rng(seed)
    starts = np.sort(np.arange(0, END, 1 / rate) + rng.uniform(0, 1 / rate, int(rate * END)))
    rows = []
    for i, t in enumerate(starts):
        vm = VMS[i % len(VMS)]
        if vm in victims and PROBE_DOWN <= t < BACK_UP:
            vm = next(v for v in VMS if v not in victims)  # the LB no longer sends it traffic
        failed = vm in victims and DOWN_FROM <= t < PROBE_DOWN
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


def capacity_frame(interval: float = 0.5, victims: Sequence[str] = (VICTIM,)) -> pd.DataFrame:
    rows = []
    for t in np.arange(0, END + interval, interval):
        for vm in VMS:
            down = vm in victims and INJECT + 1.0 <= t < BACK_UP
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


def events_frame(victims: Sequence[str] = (VICTIM,), fault: str = "stop") -> pd.DataFrame:
    vm = ",".join(victims)
    rows = [
        (0.0, "phase", None, None, "baseline"),
        (INJECT, "phase", None, None, "fault"),
        (INJECT, "inject", fault, vm, "begin_power_off"),
        (INJECT + 1.0, "injected", fault, vm, "stopped"),
        (REVERT, "phase", None, None, "recovery"),
        (REVERT, "revert", fault, vm, "begin_start"),
        (REVERT + 1.5, "reverted", fault, vm, "running"),
        (BACK_UP, "recovered", fault, None, "healthy capacity back to baseline"),
    ]
    return pd.DataFrame(
        [{"time": T0 + t, "kind": k, "fault": f, "vm": v, "detail": d} for t, k, f, v, d in rows]
    )
