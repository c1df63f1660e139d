"""Inventory cost of a 1000-VM Flexible set (the Flexible maximum) through the real SDK.

One sample must cost ceil(VMs / page size) GETs (the filtered VM listing with instance views,
page by page), never one call per VM. The GET count is read from the emulator's per-route
counters; wall times are printed alongside, with the per-VM alternative (one instanceView GET
per VM) for contrast. Results: bench/results/inventory.json.

    .venv/bin/python bench/bench_inventory.py [--vms 1000] [--page-size 50] [--samples 5]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.launcher import RunningEmulator
from fleet.inventory import Inventory
from fleet.target import FleetTarget

RESULTS = Path(__file__).resolve().parent / "results" / "inventory.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument(
        "--per-vm-contrast",
        type=int,
        default=1000,
        help="how many per-VM instanceView GETs to time for contrast (0: skip)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        topology = Path(tmp) / "topology.toml"
        topology.write_text(
            f"[scale_set]\nvm_count = {args.vms}\npage_size = {args.page_size}\n"
            # a quiet fleet: real-time probes and no repairs, so no VM is replaced mid-listing
            "[automatic_repairs]\nenabled = false\n"
        )
        started = time.perf_counter()
        with RunningEmulator(topology=topology, time_scale=1.0) as emulator:
            ready_s = time.perf_counter() - started
            target = FleetTarget.from_emulator(emulator.info)
            inventory = Inventory(target)
            inventory.sample()  # warm the SDK client (imports, connection)
            gets, walls, sizes = [], [], []
            for _ in range(args.samples):
                before = Counter(emulator.client.requests()["counters"])
                t0 = time.perf_counter()
                sample = inventory.sample()
                walls.append(time.perf_counter() - t0)
                spent = Counter(emulator.client.requests()["counters"]) - before
                sizes.append(len(sample.instances))
                gets.append(sum(v for k, v in spent.items() if k.startswith("GET ")))
                other = [k for k in spent if not k.startswith("GET ")]
                assert not other, other
            contrast_s = None
            n = min(args.per_vm_contrast, args.vms)
            if n:
                names = [i.name for i in sample.instances[:n]]
                vms = target.clients.compute.virtual_machines
                t0 = time.perf_counter()
                for name in names:
                    vms.instance_view(target.resource_group, name)
                contrast_s = time.perf_counter() - t0

    expected = math.ceil(args.vms / args.page_size)
    result = {
        "vms": args.vms,
        "page_size": args.page_size,
        "samples": args.samples,
        "expected_gets_per_sample": expected,
        "gets_per_sample": gets,
        "vms_per_sample": sizes,
        "ok": all(g == expected for g in gets) and all(n == args.vms for n in sizes),
        "sample_wall_s": {
            "median": round(statistics.median(walls), 4),
            "min": round(min(walls), 4),
            "max": round(max(walls), 4),
        },
        "per_vm_instance_view": None
        if contrast_s is None
        else {"vms": n, "gets": n, "wall_s": round(contrast_s, 4)},
        "emulator_ready_s": round(ready_s, 2),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "GETs read from the emulator's per-route counters; wall times on a shared "
        "2-core machine, for orientation only",
    }
    print(
        f"inventory of {args.vms} VMs, page size {args.page_size}: "
        f"{gets} GETs per sample (expected {expected}); "
        f"median {result['sample_wall_s']['median'] * 1000:.0f} ms per sample"
    )
    if contrast_s is not None:
        print(f"per-VM alternative: {n} instanceView GETs in {contrast_s * 1000:.0f} ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
