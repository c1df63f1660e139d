"""A 1000-VM Flexible scale set (Azure's maximum) in one emulator process.

Measures start-up time (process spawn to ready line), resident memory (VmRSS from
/proc/<pid>/status) after start-up and after listing, and the wall time of one full
list-with-instance-view through azure-mgmt-compute (every page, following nextLink).
Prints the figures and writes bench/results/emulator_scale.json.

Run: .venv/bin/python bench/bench_emulator_scale.py [--vms 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.launcher import RunningEmulator  # noqa: E402
from fleet.clients import Clients, Endpoint  # noqa: E402

RESULT = ROOT / "bench" / "results" / "emulator_scale.json"


def open_sockets(pid: int) -> int:
    """Sockets the emulator holds (one listening app per running VM, the LB, the ARM API)."""
    fd_dir = f"/proc/{pid}/fd"
    count = 0
    for fd in os.listdir(fd_dir):
        try:
            count += os.readlink(f"{fd_dir}/{fd}").startswith("socket:")
        except FileNotFoundError:  # closed meanwhile (a probe's connection)
            continue
    return count


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="timed full listings")
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        topology = Path(tmp) / "topology.toml"
        topology.write_text(
            f"[scale_set]\nvm_count = {args.vms}\nspot_count = {args.vms // 10}\n"
            f"page_size = {args.page_size}\n"
        )
        began = time.perf_counter()
        emulator = RunningEmulator(topology=topology, time_scale=0.05)
        startup_s = time.perf_counter() - began
        try:
            pid = emulator.process.pid
            rss_ready = rss_mib(pid)
            info = emulator.info
            clients = Clients(Endpoint(info.arm_url, info.token), info.subscription_id)
            set_id = (
                f"/subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}"
                f"/providers/Microsoft.Compute/virtualMachineScaleSets/{info.scale_set}"
            )
            flt = f"'virtualMachineScaleSet/id' eq '{set_id}'"
            list_s: list[float] = []
            for _ in range(args.runs):
                began = time.perf_counter()
                vms = list(
                    clients.compute.virtual_machines.list(
                        info.resource_group, filter=flt, expand="instanceView"
                    )
                )
                list_s.append(time.perf_counter() - began)
                if len(vms) != args.vms or any(vm.instance_view is None for vm in vms):
                    raise RuntimeError(f"listed {len(vms)} VMs, expected {args.vms}")
            rss_listed = rss_mib(pid)
            sockets = open_sockets(pid)
        finally:
            emulator.stop()

    result = {
        "vms": args.vms,
        "page_size": args.page_size,
        "pages": -(-args.vms // args.page_size),
        "startup_s": round(startup_s, 3),
        "rss_mib_ready": round(rss_ready, 1),
        "rss_mib_after_listing": round(rss_listed, 1),
        "list_with_instance_view_s": [round(s, 3) for s in list_s],
        "list_with_instance_view_best_s": round(min(list_s), 3),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "open_sockets": sockets,
        "note": "whole emulator: ARM API, load balancer, one listening app per VM, probes",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.vms} VMs: start-up {startup_s:.2f} s, RSS {rss_ready:.1f} MiB ready / "
        f"{rss_listed:.1f} MiB after listing, full list with instance views "
        f"{min(list_s):.2f} s best of {args.runs} ({result['pages']} pages)"
    )
    print(f"wrote {RESULT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
