"""Run scripts/pipeline-gameday.sh as a pipeline would: the CI's own variables, the fleet's.

What each CI sets is kept here, once, so the tests read as "the GitHub nightly's steps" or "the
Azure Pipelines gate's steps". `fleet_environment` is the one place that says how the steps
reach the emulator: plain emulator mode today (`--fleet emulator` attached with `--arm-url`);
against the emulator's Azure mode it is `--fleet azure` with the scale set's names and the
workload identity variables (AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID,
AZURE_FEDERATED_TOKEN_FILE, the CA bundle) that `EmulatorInfo.azure_environment()` gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from emulator.launcher import RunningEmulator

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "pipeline-gameday.sh"
STEP_TIMEOUT_S = 300


def github_environment(tmp: Path) -> dict[str, str]:
    """What a GitHub Actions runner sets for a `run:` step (the variables the script reads)."""
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp / "github-output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "github-step-summary.md"),
        "RUNNER_TEMP": str(tmp),
    }


def azure_pipelines_environment(tmp: Path) -> dict[str, str]:
    """What an Azure Pipelines agent sets for a task (TF_BUILD, Agent.TempDirectory)."""
    return {"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(tmp)}


def azure_mode(emulator: RunningEmulator) -> bool:
    return bool(getattr(emulator.info, "azure_mode", False))


def federated_token(emulator: RunningEmulator) -> str:
    """Azure mode: the token a CI's OIDC issuer would hand over (the emulator's own issuer,
    trusted by its app registration's federated credential)."""
    return Path(str(emulator.info.federated_token_file)).read_text().strip()


def fleet_environment(emulator: RunningEmulator) -> dict[str, str]:
    """The fleet variables of the templates, pointed at `emulator`. In Azure mode the federated
    token is left out: each CI hands over its own (`github_oidc_service`, AzureCLI@2's idToken)."""
    info = emulator.info
    if azure_mode(emulator):  # the emulator's Azure mode: the real --fleet azure
        identity = {
            k: v for k, v in info.azure_environment().items() if k != "AZURE_FEDERATED_TOKEN_FILE"
        }
        return {
            "FLEXCHAOS_FLEET": "azure",
            "FLEXCHAOS_ARM_URL": info.arm_url,
            "FLEXCHAOS_ARM_AUDIENCE": "https://management.azure.com",  # Azure's, not the URL's
            "FLEXCHAOS_SUBSCRIPTION": info.subscription_id,
            "FLEXCHAOS_RESOURCE_GROUP": info.resource_group,
            "FLEXCHAOS_SCALE_SET": info.scale_set,
            "FLEXCHAOS_LOAD_BALANCER": info.load_balancer,
            "FLEXCHAOS_LB_URL": info.lb_url,
            "FLEXCHAOS_TIME_SCALE": str(info.time_scale),
            **identity,
        }
    return {"FLEXCHAOS_FLEET": "emulator", "FLEXCHAOS_ARM_URL": info.arm_url}


@dataclass(frozen=True)
class Step:
    """One step's result: its exit code and what it printed (stdout and stderr together)."""

    code: int
    output: str

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith(prefix)]


def step_environment(env: dict[str, str]) -> dict[str, str]:
    """The pipeline's variables added to a clean copy of this environment (no variable of a
    real CI leaks in from the machine)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "ACTIONS_", "RUNNER_", "AZURE_", "FLEXCHAOS_"))
        and k not in ("TF_BUILD", "AGENT_TEMPDIRECTORY", "idToken", "servicePrincipalId")
    }
    return {**base, "FLEXCHAOS_PYTHON": sys.executable, **env}


def run_step(step: str, env: dict[str, str]) -> Step:
    """`bash scripts/pipeline-gameday.sh <step>`, to its end."""
    run = subprocess.run(
        ["bash", str(SCRIPT), step], cwd=REPO, env=step_environment(env),
        capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False,
    )  # fmt: skip
    return Step(run.returncode, run.stdout + run.stderr)


def start_step(step: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """The same step, started: for a test that signals it as a cancelled pipeline does."""
    return subprocess.Popen(
        ["bash", str(SCRIPT), step], cwd=REPO, env=step_environment(env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


@dataclass
class OidcService:
    """A stand-in for GitHub's OIDC token service on loopback: what the runner's
    ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN point at, and the requests it got."""

    url: str
    request_token: str
    requests: list[dict[str, str]] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        return {"ACTIONS_ID_TOKEN_REQUEST_URL": self.url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token}  # fmt: skip


@contextmanager
def github_oidc_service(id_token: str) -> Iterator[OidcService]:
    """Serve `id_token` as GitHub does ({"value": ...}) to a bearer of the request token."""
    service = OidcService(url="", request_token="gh-request-token")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            service.requests.append(
                {"path": self.path, "authorization": self.headers.get("Authorization", "")}
            )
            ok = self.headers.get("Authorization") == f"bearer {service.request_token}"
            body = json.dumps({"value": id_token} if ok else {"message": "Bad credentials"})
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
