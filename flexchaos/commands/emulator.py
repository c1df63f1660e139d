"""`flexchaos emulator`: run the local Azure stand-in until Ctrl-C.

Prints one JSON line when ready (arm_url, lb_url, subscription_id, ...) and serves the same JSON
at GET /_emulator; SIGINT or SIGTERM stop it cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from flexchaos.errors import FlexchaosError
from flexchaos.fleet_spec import MIN_TIME_SCALE

if TYPE_CHECKING:
    from emulator.identity.setup import AzureModeOptions
    from emulator.topology import Topology

ROLE_SCOPES = ("subscription", "resource-group", "scale-set")
HELP = "Run the built-in Azure emulator (ARM API, VMs, load balancer) on 127.0.0.1."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topology", type=Path, help="topology TOML file (default: 6 VMs)")
    parser.add_argument("--port", type=int, default=0, help="ARM API port (0 = a free port)")
    parser.add_argument("--lb-port", type=int, default=0, help="load balancer port (0 = free)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.05,
        help="wall seconds per platform second (default 0.05: a 30 s start takes 1.5 s)",
    )
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of ARM requests → 429")
    parser.add_argument("--rate-5xx", type=float, default=0.0, help="share of ARM requests → 5xx")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added ARM latency (ms)")
    parser.add_argument("--seed", type=int, default=None, help="seed for names and faults")
    azure = parser.add_argument_group(
        "Azure mode (HTTPS, an Entra ID stand-in, tokens and roles checked)"
    )
    azure.add_argument(
        "--azure-mode", action="store_true",
        help="serve HTTPS with a local CA and sign-in as Microsoft Entra ID; ARM checks tokens "
        "and role-based access (docs/azure.md)",
    )  # fmt: skip
    azure.add_argument(
        "--token-lifetime", type=float, default=3600.0, metavar="S",
        help="access token lifetime in wall seconds (default 3600; short ones prove refresh)",
    )  # fmt: skip
    azure.add_argument(
        "--role", default="Owner", metavar="ROLE",
        help="the app's role: Owner, Contributor, Reader, none, or a custom-role JSON file "
        "(e.g. azure/flexchaos-role.json) (default Owner)",
    )  # fmt: skip
    azure.add_argument(
        "--role-scope", default="resource-group", choices=ROLE_SCOPES,
        help="where the role is assigned (default resource-group)",
    )  # fmt: skip
    azure.add_argument("--state-dir", type=Path, default=None, metavar="DIR",
                       help="where the CA and the federated token file go (default: a temporary "
                       "directory removed at exit)")  # fmt: skip
    parser.add_argument(
        "--parent-pid", type=int, default=None,
        help="exit when this process (the harness that started the emulator) is gone",
    )  # fmt: skip


def _check(args: argparse.Namespace) -> None:
    if not MIN_TIME_SCALE <= args.time_scale <= 1:  # also false for nan
        raise FlexchaosError(
            f"--time-scale must be a number from {MIN_TIME_SCALE:g} to 1 (wall seconds per "
            f"platform second, e.g. 0.05), got {args.time_scale:g}"
        )
    for flag, value in (("--rate-429", args.rate_429), ("--rate-5xx", args.rate_5xx)):
        if not 0 <= value <= 1:
            raise FlexchaosError(f"{flag} must be between 0 and 1, got {value}")
    if args.rate_429 + args.rate_5xx > 1:
        raise FlexchaosError("--rate-429 plus --rate-5xx must be at most 1")
    if args.token_lifetime <= 0:
        raise FlexchaosError(f"--token-lifetime must be > 0 seconds, got {args.token_lifetime}")
    if args.latency_ms < 0:
        raise FlexchaosError(f"--latency-ms must be >= 0, got {args.latency_ms}")
    for flag, port in (("--port", args.port), ("--lb-port", args.lb_port)):
        if not 0 <= port <= 65535:
            raise FlexchaosError(f"{flag} must be a TCP port (0-65535), got {port}")


def run(args: argparse.Namespace) -> int:
    from emulator.topology import load_topology

    _check(args)
    topology = load_topology(args.topology)
    with ExitStack() as stack:
        azure = _azure_mode(args, stack)
        return _serve(args, topology, azure)


def _azure_mode(args: argparse.Namespace, stack: ExitStack) -> AzureModeOptions | None:
    from emulator.identity.setup import AzureModeOptions, read_role

    if not args.azure_mode:
        defaults = (
            ("--role", args.role, "Owner"),
            ("--token-lifetime", args.token_lifetime, 3600.0),
            ("--state-dir", args.state_dir, None),
        )
        given = [flag for flag, value, default in defaults if value != default]
        if given:
            raise FlexchaosError(f"{', '.join(given)}: Azure mode only; add --azure-mode")
        return None
    try:
        read_role(args.role)
    except ValueError as exc:
        raise FlexchaosError(
            f"{exc}; use Owner, Contributor, Reader, none or a JSON file"
        ) from None
    state = args.state_dir or Path(
        stack.enter_context(tempfile.TemporaryDirectory(prefix="flexchaos-azure-"))
    )
    return AzureModeOptions(
        state_dir=state, token_lifetime_s=args.token_lifetime, role=args.role,
        role_scope=args.role_scope,
    )  # fmt: skip


def _serve(args: argparse.Namespace, topology: Topology, azure: AzureModeOptions | None) -> int:
    from emulator.server import ServerOptions, serve

    options = ServerOptions(
        port=args.port,
        lb_port=args.lb_port,
        time_scale=args.time_scale,
        rate_429=args.rate_429,
        rate_5xx=args.rate_5xx,
        latency_ms=args.latency_ms,
        seed=args.seed,
        parent_pid=args.parent_pid,
        azure_mode=azure,
    )
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(serve(topology, options))
    except OSError as exc:
        raise FlexchaosError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
