# ruff: noqa: E501  (ARM URLs read best whole)
"""Azure mode end to end, cheaply: the real DefaultAzureCredential (workload identity from a
federated token file) signs in to the emulator's Entra stand-in over HTTPS, Resource Manager
checks the token and the shipped role, and the preflight turns every refusal into one blocker
line before anything changes.

One emulator for the module (Azure mode, the shipped role on the resource group); each test
sets the role or token lifetime it needs through `PUT /_emulator/role` and puts the shipped
role back. Mutating calls are counted from the emulator's request log.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from emulator.launcher import RunningEmulator
from fleet.permissions import DEFAULT_GAME_DAY, needs, role_definition
from fleet.preflight import run_preflight
from fleet.target import FleetTarget
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
ROLE_FILE = REPO / "azure" / "flexchaos-role.json"
SHIPPED_ROLE = json.loads(ROLE_FILE.read_text())
ARM_AUDIENCE = "https://management.azure.com"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def azure_emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(args=["--azure-mode", "--role", str(ROLE_FILE)], time_scale=0.05)


@pytest.fixture
def signed_in(azure_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The variables a pipeline sets for workload identity, pointed at the emulator."""
    for key, value in azure_emulator.info.azure_environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AZURE_CLIENT_SECRET", raising=False)
    yield
    azure_emulator.client.set_role(SHIPPED_ROLE, token_lifetime_s=3600)


def target(emulator: RunningEmulator, audience: str | None = ARM_AUDIENCE) -> FleetTarget:
    """`--fleet azure --arm-url <emulator>`: DefaultAzureCredential, the SDK's own policy."""
    info = emulator.info
    return FleetTarget.azure(
        info.subscription_id, info.resource_group, info.scale_set,
        load_balancer=info.load_balancer, arm_url=info.arm_url, audience=audience,
    )  # fmt: skip


def mutating_calls(emulator: RunningEmulator) -> int:
    log = emulator.client.requests()["log"]
    return sum(1 for r in log if r["method"] in MUTATING and r["path"].startswith("/subscriptions"))


def blockers(
    emulator: RunningEmulator, faults: tuple[str, ...] = DEFAULT_GAME_DAY, **kw: str
) -> list[str]:
    result = run_preflight(target(emulator, **kw), faults)
    return [f.line() for f in result.blockers]


# -- the Entra ID stand-in and ARM's answers ------------------------------------------------------
def test_openid_discovery_and_keys_are_served_over_https(azure_emulator: RunningEmulator) -> None:
    info = azure_emulator.info
    assert info.arm_url.startswith("https://127.0.0.1:") and info.ca_file
    with httpx.Client(verify=info.verify) as http:
        config = http.get(
            f"{info.authority_host}/{info.tenant_id}/v2.0/.well-known/openid-configuration"
        ).json()
        assert (
            config["token_endpoint"] == f"{info.authority_host}/{info.tenant_id}/oauth2/v2.0/token"
        )
        keys = http.get(config["jwks_uri"]).json()["keys"]
        assert keys and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    with pytest.raises(httpx.ConnectError):  # not trusted without the CA
        httpx.get(f"{info.arm_url}/_emulator", verify=True)


def test_missing_header_is_refused_as_azure_words_it(azure_emulator: RunningEmulator) -> None:
    info = azure_emulator.info
    url = (
        f"{info.arm_url}/subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}"
    )
    response = httpx.get(
        f"{url}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01",
        verify=info.verify,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(
        f'Bearer authorization_uri="{info.authority_host}/", error="invalid_token"'
    )
    assert "error_description=" in challenge
    forged = httpx.get(
        f"{url}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01",
        headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, verify=info.verify,
    )  # fmt: skip
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_client_secret_and_a_wrong_secret(azure_emulator: RunningEmulator) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential

    info = azure_emulator.info
    common = {"authority": info.authority_host, "disable_instance_discovery": True,
              "connection_verify": info.ca_file}  # fmt: skip
    good = ClientSecretCredential(info.tenant_id, info.client_id, info.client_secret, **common)
    assert good.get_token(f"{ARM_AUDIENCE}/.default").token.count(".") == 2
    bad = ClientSecretCredential(info.tenant_id, info.client_id, "not-the-secret", **common)
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        bad.get_token(f"{ARM_AUDIENCE}/.default")


def test_a_federated_token_for_another_subject_is_refused(
    azure_emulator: RunningEmulator,
    signed_in: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = tmp_path / "token"
    other.write_text(
        azure_emulator.client.federated_token(subject="repo:someone/else:ref:refs/heads/main")
    )
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(other))
    lines = blockers(azure_emulator)
    assert len(lines) == 1 and lines[0].startswith("BLOCKER  credential:")
    assert "AADSTS700213" in lines[0] and "repo:someone/else" in lines[0]


# -- the shipped role and the preflight ------------------------------------------------------------
def test_the_shipped_role_is_exactly_what_the_default_game_day_needs() -> None:
    assert role_definition(DEFAULT_GAME_DAY) == SHIPPED_ROLE
    assert len(SHIPPED_ROLE["Actions"]) == len(set(SHIPPED_ROLE["Actions"]))


def test_preflight_passes_with_exactly_the_shipped_role(
    azure_emulator: RunningEmulator, signed_in: None
) -> None:
    before = mutating_calls(azure_emulator)
    result = run_preflight(target(azure_emulator), DEFAULT_GAME_DAY)
    assert result.passed, result.text()
    assert mutating_calls(azure_emulator) == before


@pytest.mark.parametrize("action", SHIPPED_ROLE["Actions"])
def test_removing_any_one_action_names_it_before_anything_changes(
    azure_emulator: RunningEmulator, signed_in: None, action: str
) -> None:
    azure_emulator.client.set_role(
        {**SHIPPED_ROLE, "Actions": [a for a in SHIPPED_ROLE["Actions"] if a != action]}
    )
    before = mutating_calls(azure_emulator)
    lines = blockers(azure_emulator)
    assert mutating_calls(azure_emulator) == before
    need = next(n for n in needs(DEFAULT_GAME_DAY) if n.action == action)
    naming = [line for line in lines if f"missing {action} (needed by" in line]
    assert len(naming) == 1, lines
    assert ", ".join(need.needed_by) in naming[0] and need.why in naming[0]


def test_expired_token_is_one_blocker(azure_emulator: RunningEmulator, signed_in: None) -> None:
    azure_emulator.client.set_role(SHIPPED_ROLE, token_lifetime_s=-60)
    lines = blockers(azure_emulator)
    assert len(lines) == 1 and "ExpiredAuthenticationToken" in lines[0], lines
    assert "is earlier than current UTC time" in lines[0]


def test_wrong_audience_is_one_blocker(azure_emulator: RunningEmulator, signed_in: None) -> None:
    lines = blockers(azure_emulator, audience="https://vault.azure.net")
    assert len(lines) == 1 and "InvalidAuthenticationTokenAudience" in lines[0], lines
    assert "'https://vault.azure.net'" in lines[0]


def test_missing_role_assignment_is_one_blocker(
    azure_emulator: RunningEmulator, signed_in: None
) -> None:
    azure_emulator.client.set_role(None)
    lines = blockers(azure_emulator)
    assert len(lines) == 1 and "no role assignment gives this identity anything" in lines[0], lines
    # and Resource Manager itself refuses the first read as Azure does
    info = azure_emulator.info
    with pytest.raises(Exception, match="AuthorizationFailed") as refused:
        target(azure_emulator).clients.compute.virtual_machine_scale_sets.get(
            info.resource_group, info.scale_set
        )
    wanted = "'Microsoft.Compute/virtualMachineScaleSets/read'"
    assert f"does not have authorization to perform action {wanted} over scope" in str(
        refused.value
    )


def test_wrong_tenant_is_one_blocker(
    azure_emulator: RunningEmulator, signed_in: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", "11111111-2222-4333-8444-555555555555")
    lines = blockers(azure_emulator)
    assert len(lines) == 1 and "InvalidAuthenticationTokenTenant" in lines[0], lines
    assert "It must match the tenant" in lines[0]


def test_preflight_command_exits_2_with_one_blocker_line(
    azure_emulator: RunningEmulator, signed_in: None
) -> None:
    """The command a pipeline runs: exit 2, one BLOCKER line saying what is wrong, no change."""
    azure_emulator.client.set_role(SHIPPED_ROLE, token_lifetime_s=-60)
    info = azure_emulator.info
    before = mutating_calls(azure_emulator)
    done = subprocess.run(
        [sys.executable, "-m", "flexchaos", "preflight", "--fleet", "azure",
         "--arm-url", info.arm_url, "--subscription", info.subscription_id,
         "--resource-group", info.resource_group,
         "--scale-set", info.scale_set, "--load-balancer", str(info.load_balancer)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    blocker_lines = [line for line in done.stdout.splitlines() if line.startswith("BLOCKER")]
    assert len(blocker_lines) == 1 and "ExpiredAuthenticationToken" in blocker_lines[0]
    assert "Traceback" not in done.stderr
    assert mutating_calls(azure_emulator) == before


def test_short_lived_tokens_are_refreshed_during_a_long_hold(
    azure_emulator: RunningEmulator, signed_in: None
) -> None:
    """Tokens that live 2 s: the SDK keeps reading through several lifetimes, every call is
    served (none refused as expired), and the stand-in issued a token per lifetime or so."""
    azure_emulator.client.set_role(SHIPPED_ROLE, token_lifetime_s=2)
    fleet = target(azure_emulator)
    issued = azure_emulator.client.identity()["tokens_issued"]
    since, started = time.time(), time.monotonic()
    compute = fleet.clients.compute

    def read_through_three_lifetimes() -> bool:
        compute.virtual_machine_scale_sets.get(fleet.resource_group, fleet.scale_set)
        return time.monotonic() - started > 7

    wait_for(read_through_three_lifetimes, timeout=60, interval=0.2, what="7 s of reads")
    assert azure_emulator.client.identity()["tokens_issued"] - issued >= 3
    log = azure_emulator.client.requests()["log"]
    served = [r for r in log if r["time"] >= since]
    assert len(served) >= 10 and [r for r in served if r["status"] != 200] == []


def test_role_definitions_and_assignments_over_arm(
    azure_emulator: RunningEmulator, signed_in: None
) -> None:
    """As an Owner, define a role and assign it over Resource Manager; a Reader may not."""
    from azure.core.rest import HttpRequest

    info = azure_emulator.info
    compute = target(azure_emulator).clients.compute
    authz = f"{info.arm_url}/subscriptions/{info.subscription_id}/providers/Microsoft.Authorization"
    group = f"/subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}"
    version = "?api-version=2022-04-01"

    def call(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
        response = compute.send_request(HttpRequest(method, url, json=body))
        return response.status_code, response.json()

    azure_emulator.client.set_role("Owner", scope="subscription")
    role = {"properties": {"roleName": "vm starter", "assignableScopes": [group],
            "permissions": [{"actions": ["Microsoft.Compute/virtualMachines/start/action"]}]}}  # fmt: skip
    status, created = call(
        "PUT", f"{authz}/roleDefinitions/5a1e0000-0000-4000-8000-000000000001{version}", role
    )
    assert status == 201 and created["properties"]["roleName"] == "vm starter"
    assignment = {"properties": {"roleDefinitionId": created["id"], "principalId": "someone-else"}}
    status, _ = call(
        "PUT",
        f"{info.arm_url}{group}/providers/Microsoft.Authorization/roleAssignments/a1{version}",
        assignment,
    )
    assert status == 201
    status, listed = call(
        "GET", f"{info.arm_url}{group}/providers/Microsoft.Authorization/roleAssignments{version}"
    )
    assert any(a["properties"]["principalId"] == "someone-else" for a in listed["value"])
    azure_emulator.client.set_role("Reader", scope="subscription")
    status, refused = call(
        "PUT",
        f"{info.arm_url}{group}/providers/Microsoft.Authorization/roleAssignments/a2{version}",
        assignment,
    )
    assert status == 403 and refused["error"]["code"] == "AuthorizationFailed"
    status, mine = call(
        "GET", f"{info.arm_url}{group}/providers/Microsoft.Authorization/permissions{version}"
    )
    assert status == 200 and mine["value"][0]["actions"] == ["*/read"]


def test_game_day_stops_at_the_preflight_before_any_fault(
    azure_emulator: RunningEmulator, signed_in: None, tmp_path: Path
) -> None:
    """The game day runs the preflight first: a missing action is one line, exit 2, no call
    that changes anything."""
    azure_emulator.client.set_role(
        {**SHIPPED_ROLE, "Actions": [a for a in SHIPPED_ROLE["Actions"] if "powerOff" not in a]}
    )
    info = azure_emulator.info
    before = mutating_calls(azure_emulator)
    done = subprocess.run(
        [sys.executable, "-m", "flexchaos", "gameday", "--no-report", "--work-dir", str(tmp_path / "w"),
         "--", "--fleet", "azure", "--arm-url", info.arm_url, "--subscription", info.subscription_id,
         "--resource-group", info.resource_group, "--scale-set", info.scale_set,
         "--load-balancer", str(info.load_balancer), "--lb-url", str(info.lb_url)],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 2, out[-3000:]
    line = "preflight: permissions: missing Microsoft.Compute/virtualMachines/powerOff/action (needed by stop, zone-down"
    assert line in out, out[-3000:]
    assert "Traceback" not in out
    assert mutating_calls(azure_emulator) == before
