"""Start `flexchaos emulator` as a child process, or attach to a running one, and read its details.

The harness and the tests only ever talk to the emulator over HTTP; this module is the one place
that knows how to launch it and where its emulator-only routes (/_emulator/...) live.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from flexchaos.errors import FlexchaosError

READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class EmulatorInfo:
    """What the emulator announces on its ready line and at GET /_emulator."""

    arm_url: str
    subscription_id: str
    resource_group: str
    scale_set: str
    time_scale: float
    lb_url: str | None = None
    load_balancer: str | None = None
    location: str = "eastus"
    token: str = "emulator"
    pid: int | None = None
    # Azure mode (--azure-mode): HTTPS with a local CA and an Entra ID stand-in
    azure_mode: bool = False
    ca_file: str | None = None
    authority_host: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    principal_id: str | None = None
    federated_token_file: str | None = None
    federated_subject: str | None = None
    token_lifetime_s: float | None = None

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client trusts to reach it: its CA in Azure mode."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True

    def azure_environment(self) -> dict[str, str]:
        """The variables DefaultAzureCredential (workload identity) and the SDK's HTTPS need to
        sign in to this emulator in Azure mode."""
        if not self.azure_mode:
            raise ValueError("the emulator is not in Azure mode (--azure-mode)")
        return {
            "AZURE_AUTHORITY_HOST": str(self.authority_host),
            "AZURE_TENANT_ID": str(self.tenant_id),
            "AZURE_CLIENT_ID": str(self.client_id),
            "AZURE_FEDERATED_TOKEN_FILE": str(self.federated_token_file),
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "SSL_CERT_FILE": str(self.ca_file),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmulatorInfo:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class EmulatorClient:
    """The emulator-only routes: ground truth, request log, control-plane faults."""

    def __init__(self, info: EmulatorInfo) -> None:
        self.info = info
        self._http = httpx.Client(base_url=info.arm_url, timeout=10.0, verify=info.verify)

    def truth(self, kind: str | None = None, vm: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"kind": kind, "vm": vm}.items() if v is not None}
        response = self._http.get("/_emulator/truth", params=params)
        response.raise_for_status()
        return response.json()["events"]

    def requests(self) -> dict[str, Any]:
        """The request log and per-route counters: {"counters": {...}, "log": [...]}."""
        response = self._http.get("/_emulator/requests")
        response.raise_for_status()
        return response.json()

    def set_control_faults(
        self,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        latency_ms: float = 0.0,
        *,
        listing_failure_rate: float = 0.0,
        chaos_actions: str = "normal",
    ) -> None:
        """Faults for testing the harness; every call sets all of them (defaults: none)."""
        response = self._http.put(
            "/_emulator/control-faults",
            json={
                "rate_429": rate_429,
                "rate_5xx": rate_5xx,
                "latency_ms": latency_ms,
                "listing_failure_rate": listing_failure_rate,
                "chaos_actions": chaos_actions,
            },
        )
        response.raise_for_status()

    def set_role(
        self, role: dict[str, Any] | str | None, scope: str = "resource-group", **extra: Any
    ) -> None:
        """Azure mode: replace the app's role (a custom role object, a built-in name, or None
        for no assignment) at `scope` (subscription | resource-group | scale-set)."""
        response = self._http.put("/_emulator/role", json={"role": role, "scope": scope, **extra})
        response.raise_for_status()

    def identity(self) -> dict[str, Any]:
        """Azure mode: {"tokens_issued", "token_lifetime_s"} of the Entra stand-in."""
        response = self._http.get("/_emulator/identity")
        response.raise_for_status()
        return dict(response.json())

    def federated_token(self, **claims: Any) -> str:
        """Azure mode: a federated token from the emulator's own OIDC issuer."""
        response = self._http.post("/_emulator/federated-token", json=claims)
        response.raise_for_status()
        return str(response.json()["token"])

    def close(self) -> None:
        self._http.close()


def attach(arm_url: str) -> EmulatorInfo:
    """Learn a running emulator's details from GET /_emulator (loopback only, both ways)."""
    _require_loopback(arm_url, "--arm-url")
    try:
        response = httpx.get(arm_url.rstrip("/") + "/_emulator", timeout=10.0)
        response.raise_for_status()
        info = EmulatorInfo.from_json(response.json())
    except (httpx.HTTPError, ValueError, TypeError) as exc:
        raise FlexchaosError(
            f"no flexchaos emulator answers at {arm_url} ({exc}); start one with "
            "`flexchaos emulator` and pass the arm_url it prints"
        ) from None
    _require_loopback(info.arm_url, "the emulator's arm_url")
    if info.lb_url:
        _require_loopback(info.lb_url, "the emulator's lb_url")
    return info


def _require_loopback(url: str, what: str) -> None:
    """The emulator lives on this machine: anything else is not an emulator to trust."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise FlexchaosError(
            f"{what} {url} is not on this machine's loopback (127.0.0.0/8); the emulator "
            "only listens there (use --fleet azure for Azure)"
        )


class RunningEmulator:
    """A `flexchaos emulator` child process; stop() sends SIGTERM and waits."""

    def __init__(
        self,
        *,
        topology: Path | None = None,
        time_scale: float | None = None,
        extra_args: list[str] | None = None,
        log_path: Path | None = None,
        seed: int | None = None,
    ) -> None:
        cmd = [sys.executable, "-m", "flexchaos", "emulator", "--port", "0"]
        cmd += ["--parent-pid", str(os.getpid())]  # gone with us, even after a SIGKILL
        if topology is not None:
            cmd += ["--topology", str(topology)]
        if time_scale is not None:
            cmd += ["--time-scale", str(time_scale)]
        if seed is not None:  # the VMs' names derive from it: the same seed, the same fleet
            cmd += ["--seed", str(seed)]
        cmd += extra_args or []
        self._log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # Its own session: a terminal's Ctrl-C must reach the harness, which still needs
            # the emulator to revert its faults; stop() ends it, and --parent-pid if we die.
            start_new_session=True,
        )
        self.info = self._read_ready_line()
        self.client = EmulatorClient(self.info)

    def _read_ready_line(self) -> EmulatorInfo:
        assert self.process.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                code = self.process.wait(timeout=5)
                raise FlexchaosError(
                    f"the emulator exited with code {code} before it was ready{self._reason()}"
                )
            line = line.strip()
            if line.startswith("{"):
                return EmulatorInfo.from_json(json.loads(line))
        self.process.kill()
        raise FlexchaosError(
            f"the emulator was not ready within {READY_TIMEOUT_S:.0f} s{self._reason()}"
        )

    def _reason(self) -> str:
        """The last line the emulator wrote to its log (its one-line error), for the harness's
        own error: the reason must not be only in the log."""
        if self._log_path is None:
            return ""
        try:
            lines = self._log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return f": {last} (log: {self._log_path})" if last else f" (log: {self._log_path})"

    def stop(self, timeout: float = 15.0) -> int:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        return self.process.returncode

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
