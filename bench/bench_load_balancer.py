"""Requests per second through the emulator's load balancer, against the same backends served
directly and through HAProxy (TCP mode), with one load generator, in one interleaved run.

    .venv/bin/python bench/bench_load_balancer.py [--rounds 3] [--duration 3] [--connections 32]

Three processes besides this one: the backends (two emulator VM apps on 127.0.1.201-202, one
uvloop process), the emulator's LoadBalancer (one uvloop process, HTTP probe) and HAProxy
(`mode tcp`, `nbthread 1`: one thread, like the emulator's single event loop). The load generator
is wrk (Debian's package; installed with apt-get when missing) or, without it, a bounded asyncio
client. Each round runs every target in both modes (keep-alive, and `Connection: close` = one
connection per request), rotating the order, because this machine drifts 10-25% between runs; the
medians over rounds are compared. The latency the load balancer adds is measured separately at
low load (one connection, sequential requests), p99 through the LB minus p99 direct.

Goals (issue 3): >= 0.8x HAProxy's keep-alive req/s, >= 0.6x its new-connection rate, <= 2 ms
added p99. Figures are printed and written to bench/results/load_balancer.json and .md.
Everything listens on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BACKEND_HOSTS = ("127.0.1.201", "127.0.1.202")
TARGETS = ("direct", "emulator_lb", "haproxy", "whole_emulator")
GOALS = {"keepalive_ratio": 0.8, "new_connection_ratio": 0.6, "added_p99_ms": 2.0}
READY_TIMEOUT_S = 15.0


# ----- the processes under test -----------------------------------------------------------------


def _serve_backends(port: int) -> None:
    """Child process: two VM apps sharing `port` on their own loopback addresses."""
    import uvloop

    from emulator.dataplane.vm_app import VmApp

    async def main() -> None:
        for i, host in enumerate(BACKEND_HOSTS):
            await VmApp(f"bench-vm-{i}", host, port).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def _serve_lb(backend_port: int, frontend_port: int) -> None:
    """Child process: the emulator's LoadBalancer over the two backends, HTTP probe."""
    import uvloop

    from emulator.clock import Clock
    from emulator.dataplane.lb_probe import ProbeSettings
    from emulator.dataplane.load_balancer import LoadBalancer

    async def main() -> None:
        lb = LoadBalancer(ProbeSettings(port=backend_port), Clock(1.0), port=frontend_port)
        for i, host in enumerate(BACKEND_HOSTS):
            lb.add_backend(f"bench-vm-{i}", host, backend_port)
        await lb.start()
        while not all(b.up for b in lb.backends):
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_child(args: list[str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.stdout.readline().strip() == "ready":
            return process
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"bench child {args} did not become ready")


def _ensure_tool(binary: str, package: str) -> str | None:
    """The tool's path, installing Debian's package once if it is missing."""
    found = shutil.which(binary)
    if found:
        return found
    if shutil.which("apt-get") is None:
        return None
    install = ["apt-get", "install", "-y", package]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True)
        subprocess.run(install, capture_output=True)
    return shutil.which(binary)


def _start_haproxy(binary: str, backend_port: int, frontend_port: int, workdir: Path) -> Any:
    servers = "\n".join(
        f"  server vm{i} {host}:{backend_port}" for i, host in enumerate(BACKEND_HOSTS)
    )
    config = workdir / "haproxy.cfg"
    config.write_text(
        "global\n  nbthread 1\n  maxconn 4000\n"
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n"
        "  timeout server 30s\n"
        f"frontend fe\n  bind 127.0.0.1:{frontend_port}\n  default_backend be\n"
        f"backend be\n  balance roundrobin\n{servers}\n"
    )
    process = subprocess.Popen(
        [binary, "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", frontend_port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("haproxy did not start listening")


def _start_emulator(workdir: Path) -> Any:
    """`flexchaos emulator` with two VMs: the load balancer, the VM apps and the ARM API share
    one event loop there, which is what a load test through lb_url really meets."""
    from emulator.launcher import RunningEmulator

    topology = workdir / "two-vms.toml"
    topology.write_text(
        '[scale_set]\nvm_count = 2\nspot_count = 0\nzones = ["1"]\n'
        "[automatic_repairs]\nenabled = false\n"
    )
    return RunningEmulator(topology=topology, time_scale=1.0)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc), to compare CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----- load generators --------------------------------------------------------------------------


@dataclass
class Run:
    target: str
    mode: str  # "keepalive" | "close"
    round: int
    requests_per_s: float
    errors: int
    p99_ms: float | None
    proxy_cpu_ms_per_1k: float | None = None


def _wrk(binary: str, url: str, close: bool, duration: float, connections: int) -> dict[str, Any]:
    cmd = [binary, "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = None
    if p99:
        p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {
        "requests_per_s": rps,
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
        "p99_ms": p99_ms,
    }


async def _python_load(
    host: str, port: int, close: bool, duration: float, connections: int
) -> dict[str, Any]:
    """Fallback load generator: `connections` loops, bounded by time and by count."""
    deadline = time.monotonic() + duration
    counts = {"ok": 0, "errors": 0}
    request = b"GET / HTTP/1.1\r\nHost: lb\r\n" + (b"Connection: close\r\n" if close else b"")
    request += b"\r\n"

    async def worker() -> None:
        reader = writer = None
        for _ in range(1_000_000):
            if time.monotonic() >= deadline:
                break
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(request)
                await _read_response(reader)
                counts["ok"] += 1
                if close:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError):
                counts["errors"] += 1
                writer = None
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return {"requests_per_s": counts["ok"] / elapsed, "errors": counts["errors"], "p99_ms": None}


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    return head + await reader.readexactly(length)


async def _interleaved_latencies(
    targets: dict[str, tuple[str, int]], close: bool, count: int
) -> dict[str, list[float]]:
    """Latency in ms of `count` sequential requests per target, one in flight at a time,
    alternating targets request by request so that machine noise hits them all alike."""
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    request = b"GET / HTTP/1.1\r\nHost: lb\r\n" + (b"Connection: close\r\n" if close else b"")
    request += b"\r\n"
    streams: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
    for _ in range(count):
        for name, (host, port) in targets.items():
            started = time.perf_counter()
            if name not in streams:
                streams[name] = await asyncio.open_connection(host, port)
            reader, writer = streams[name]
            writer.write(request)
            await _read_response(reader)
            latencies[name].append((time.perf_counter() - started) * 1000)
            if close:
                writer.close()
                del streams[name]
    for _, writer in streams.values():
        writer.close()
    return latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----- the run --------------------------------------------------------------------------------


@dataclass
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    medians: dict[str, dict[str, float]] = field(default_factory=dict)
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_bench(rounds: int, duration: float, connections: int, latency_count: int) -> Report:
    import uvloop

    wrk = _ensure_tool("wrk", "wrk")
    haproxy = _ensure_tool("haproxy", "haproxy")
    if haproxy is None:
        raise SystemExit("haproxy is not installed and apt-get could not install it")
    backend_port, lb_port, haproxy_port = _free_port(), _free_port(), _free_port()
    report = Report(
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "haproxy": subprocess.run(
                [haproxy, "-v"], capture_output=True, text=True
            ).stdout.splitlines()[0],
            "load_generator": "wrk -t1" if wrk else "python asyncio (wrk unavailable)",
        },
        settings={
            "rounds": rounds,
            "duration_s": duration,
            "connections": connections,
            "latency_requests": latency_count,
            "backends": list(BACKEND_HOSTS),
            "haproxy": "mode tcp, nbthread 1, balance roundrobin",
            "emulator_lb": "uvloop, asyncio.Protocol relay, 5-tuple hash, HTTP probe",
        },
    )
    children: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            children.append(_start_child(["--serve-backends", str(backend_port)]))
            lb = _start_child(["--serve-lb", str(backend_port), str(lb_port)])
            children.append(lb)
            hap = _start_haproxy(haproxy, backend_port, haproxy_port, Path(tmp))
            children.append(hap)
            whole = _start_emulator(Path(tmp))
            children.append(whole)
            host, port = str(whole.info.lb_url).removeprefix("http://").split(":")
            targets = {
                "direct": (BACKEND_HOSTS[0], backend_port, None),
                "emulator_lb": ("127.0.0.1", lb_port, lb.pid),
                "haproxy": ("127.0.0.1", haproxy_port, hap.pid),
                "whole_emulator": (host, int(port), whole.process.pid),
            }
            names = list(targets)
            for r in range(rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for mode in ("keepalive", "close"):
                    for name in order:
                        host, port, pid = targets[name]
                        cpu_before = _cpu_seconds(pid) if pid else 0.0
                        if wrk:
                            url = f"http://{host}:{port}/"
                            result = _wrk(wrk, url, mode == "close", duration, connections)
                        else:
                            result = asyncio.run(
                                _python_load(host, port, mode == "close", duration, connections)
                            )
                        run = Run(name, mode, r, **result)
                        if pid:
                            cpu = _cpu_seconds(pid) - cpu_before
                            total = run.requests_per_s * duration
                            run.proxy_cpu_ms_per_1k = round(cpu * 1000 / total * 1000, 2)
                        report.runs.append(run)
                        print(
                            f"round {r} {mode:9} {name:12} {run.requests_per_s:9.0f} req/s"
                            f"  errors {run.errors}  p99 {run.p99_ms} ms"
                            f"  proxy CPU/1k req {run.proxy_cpu_ms_per_1k} ms",
                            flush=True,
                        )
            addresses = {name: (host, port) for name, (host, port, _) in targets.items()}
            for mode in ("keepalive", "close"):
                samples = uvloop.run(
                    _interleaved_latencies(addresses, mode == "close", latency_count)
                )
                report.latency[mode] = {
                    name: round(_percentile(values, 0.99), 3) for name, values in samples.items()
                }
                report.latency[f"{mode}_p50"] = {
                    name: round(_percentile(values, 0.5), 3) for name, values in samples.items()
                }
        finally:
            for child in children:
                if isinstance(child, subprocess.Popen):
                    child.kill()
                    child.wait(timeout=10)
                else:
                    child.stop()
    _summarise(report)
    return report


def _summarise(report: Report) -> None:
    for mode in ("keepalive", "close"):
        report.medians[mode] = {
            name: round(
                statistics.median(
                    r.requests_per_s for r in report.runs if r.mode == mode and r.target == name
                ),
                1,
            )
            for name in TARGETS
        }
    keep, close = report.medians["keepalive"], report.medians["close"]
    report.ratios = {
        "keepalive_lb_vs_haproxy": round(keep["emulator_lb"] / keep["haproxy"], 3),
        "new_connection_lb_vs_haproxy": round(close["emulator_lb"] / close["haproxy"], 3),
        "keepalive_lb_vs_direct": round(keep["emulator_lb"] / keep["direct"], 3),
    }
    added = {
        mode: round(report.latency[mode]["emulator_lb"] - report.latency[mode]["direct"], 3)
        for mode in ("keepalive", "close")
    }
    report.latency["added_p99_ms"] = added
    report.goals = {
        "keepalive >= 0.8x haproxy": {
            "measured": report.ratios["keepalive_lb_vs_haproxy"],
            "met": report.ratios["keepalive_lb_vs_haproxy"] >= GOALS["keepalive_ratio"],
        },
        "new connections >= 0.6x haproxy": {
            "measured": report.ratios["new_connection_lb_vs_haproxy"],
            "met": report.ratios["new_connection_lb_vs_haproxy"] >= GOALS["new_connection_ratio"],
        },
        "added p99 <= 2 ms (keep-alive)": {
            "measured": added["keepalive"],
            "met": added["keepalive"] <= GOALS["added_p99_ms"],
        },
        "added p99 <= 2 ms (new connection per request)": {
            "measured": added["close"],
            "met": added["close"] <= GOALS["added_p99_ms"],
        },
    }


def write_results(report: Report) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = asdict(report)
    data["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (RESULTS / "load_balancer.json").write_text(json.dumps(data, indent=2) + "\n")
    keep, close = report.medians["keepalive"], report.medians["close"]
    lines = [
        "# Load balancer bench",
        "",
        f"Measured {data['measured_at']} by `bench/bench_load_balancer.py` on "
        f"{report.machine['cpus']} CPUs ({report.machine['platform']}), "
        f"load generator {report.machine['load_generator']}, {report.machine['haproxy']}.",
        f"{report.settings['rounds']} interleaved rounds x {report.settings['duration_s']} s per "
        f"target and mode, {report.settings['connections']} connections; medians over rounds.",
        "",
        "| target | keep-alive req/s | new connection per request req/s |"
        " p99 added at low load, keep-alive / new conn (ms) |",
        "|---|---:|---:|---:|",
    ]
    lat = report.latency
    for name in TARGETS:
        added = (
            f"{lat['keepalive'][name] - lat['keepalive']['direct']:.3f} / "
            f"{lat['close'][name] - lat['close']['direct']:.3f}"
        )
        lines.append(f"| {name} | {keep[name]:.0f} | {close[name]:.0f} | {added} |")
    lines += ["", "| goal | measured | met |", "|---|---:|---|"]
    for goal, verdict in report.goals.items():
        lines.append(f"| {goal} | {verdict['measured']} | {'yes' if verdict['met'] else 'NO'} |")
    cpu = {
        (name, mode): statistics.median(
            r.proxy_cpu_ms_per_1k
            for r in report.runs
            if r.target == name and r.mode == mode and r.proxy_cpu_ms_per_1k is not None
        )
        for name in ("emulator_lb", "haproxy", "whole_emulator")
        for mode in ("keepalive", "close")
    }
    lines += [
        "",
        "CPU of the process under test per 1000 requests (median), keep-alive / new connection:",
        f"emulator LB {cpu['emulator_lb', 'keepalive']} / {cpu['emulator_lb', 'close']} ms, "
        f"HAProxy {cpu['haproxy', 'keepalive']} / {cpu['haproxy', 'close']} ms, whole emulator "
        f"(LB + apps) {cpu['whole_emulator', 'keepalive']} / {cpu['whole_emulator', 'close']} ms.",
        "",
        "`direct` = one backend without a proxy (upper bound). `emulator_lb` (the LoadBalancer",
        "class in its own process) and `haproxy` relay to the same two backends, served by one",
        "uvloop process: the goals compare these two. `whole_emulator` = `flexchaos emulator` with",
        "two VMs, traffic through its lb_url: the load balancer, the VM apps and the ARM API share",
        "one event loop there, which is what a load test meets. Everything shares the same 2 cores",
        "with the load generator (and, on a busy machine, with other work), so absolute figures",
        "are low and drift between runs: compare the ratios within one run.",
        "",
    ]
    (RESULTS / "load_balancer.md").write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latency-requests", type=int, default=3000)
    parser.add_argument("--serve-backends", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-lb", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_backends is not None:
        _serve_backends(args.serve_backends)
        return 0
    if args.serve_lb is not None:
        _serve_lb(*args.serve_lb)
        return 0
    if not (1 <= args.rounds <= 20 and 0.5 <= args.duration <= 60 and args.connections >= 1):
        parser.error("rounds must be 1-20, duration 0.5-60 s, connections >= 1")
    report = run_bench(args.rounds, args.duration, args.connections, args.latency_requests)
    write_results(report)
    print(json.dumps({"medians": report.medians, "ratios": report.ratios}, indent=2))
    print(json.dumps({"latency_p99_ms": report.latency, "goals": report.goals}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
