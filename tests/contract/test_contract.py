"""Every ARM route the emulator serves, driven over raw HTTP and checked against Azure's
published specifications (tests/contract/specs): status codes per api-version, bodies against
the schemas, declared and always-sent headers, ARM error bodies. Long-running operations are
completed by a strict ARM client (strict_lro.py) in both polling styles; the last test fails
if any served ARM route went unchecked. docs/emulator.md "Contract tests" says what is covered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from emulator.launcher import RunningEmulator
from tests.contract.authorization_calls import AZURE_MODE_ARGS, exercise_authorization
from tests.contract.routes import arm_routes, spec_operation_for
from tests.contract.spec import Contract
from tests.contract.strict_lro import StrictLro
from tests.waiting import wait_for

COMPUTE, NETWORK, CHAOS, CHAOS_2023 = "2026-04-01", "2026-03-01", "2025-01-01", "2023-11-01"
SHUTDOWN = "urn:csci:microsoft:virtualMachine:shutdown/1.0"


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.fixture(scope="module")
def http(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.info.token}"}
    with httpx.Client(headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def lro(http: httpx.Client, contract: Contract) -> StrictLro:
    return StrictLro(http, contract)


class Arm:
    """URLs of the emulator's fleet, and calls checked against the specification."""

    def __init__(self, emulator: RunningEmulator, http: httpx.Client, contract: Contract) -> None:
        info = emulator.info
        self.http, self.contract, self.location = http, contract, info.location
        self.sub = f"{info.arm_url}/subscriptions/{info.subscription_id}"
        self.rg = f"{self.sub}/resourceGroups/{info.resource_group}"
        self.vms = f"{self.rg}/providers/Microsoft.Compute/virtualMachines"
        self.sets = f"{self.rg}/providers/Microsoft.Compute/virtualMachineScaleSets"
        self.scale_set = f"{self.sets}/{info.scale_set}"
        self.lbs = f"{self.rg}/providers/Microsoft.Network/loadBalancers"
        self.lb = f"{self.lbs}/{info.load_balancer}"
        self.experiments = f"{self.rg}/providers/Microsoft.Chaos/experiments"

    def call(self, method: str, url: str, version: str, **kwargs: Any) -> httpx.Response:
        params = {**kwargs.pop("params", {}), "api-version": version}
        response = self.http.request(method, url, params=params, **kwargs)
        self.contract.check(response)
        return response

    def vm_names(self, priority: str = "Regular") -> list[str]:
        body = self.call("GET", self.vms, COMPUTE).json()
        return [v["name"] for v in body["value"] if v["properties"]["priority"] == priority]


@pytest.fixture(scope="module")
def arm(emulator: RunningEmulator, http: httpx.Client, contract: Contract) -> Arm:
    return Arm(emulator, http, contract)


def test_every_served_arm_route_maps_to_a_specification_operation(contract: Contract) -> None:
    """A route the emulator serves without a specification operation to check it against
    fails here (add its subset to tests/contract/specs)."""
    missing = [f"{r.method} {r.path}" for r in arm_routes() if not spec_operation_for(r, contract)]
    assert not missing, "served ARM routes with no contract check:\n" + "\n".join(missing)


def test_compute_reads_match_the_specification(arm: Arm) -> None:
    name = arm.vm_names()[0]
    arm.call("GET", arm.vms, COMPUTE, params={"$skiptoken": "1"})
    arm.call("GET", arm.vms, COMPUTE, params={"$expand": "instanceView"})
    arm.call("GET", f"{arm.sub}/providers/Microsoft.Compute/virtualMachines", COMPUTE)
    arm.call("GET", f"{arm.vms}/{name}", COMPUTE, params={"$expand": "instanceView"})
    arm.call("GET", f"{arm.vms}/{name}/instanceView", COMPUTE)
    arm.call("GET", arm.sets, COMPUTE)
    arm.call("GET", f"{arm.sub}/providers/Microsoft.Compute/virtualMachineScaleSets", COMPUTE)
    arm.call("GET", arm.scale_set, COMPUTE)
    # The run's lease (fleet/lease.py): a tag written with the set's ETag; a stale one is 412.
    etag = arm.call("GET", arm.scale_set, COMPUTE).json()["etag"]
    tags = {"tags": {"chaos": "allowed", "flexchaos-contract": "1"}}
    written = arm.call("PATCH", arm.scale_set, COMPUTE, json=tags, headers={"If-Match": etag})
    assert written.status_code == 200 and written.json()["etag"] != etag
    stale = arm.call("PATCH", arm.scale_set, COMPUTE, json=tags, headers={"If-Match": etag})
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "PreconditionFailed")
    flexible = arm.call("GET", f"{arm.scale_set}/instanceView", COMPUTE)
    assert flexible.status_code == 409
    assert flexible.json()["error"]["code"] == "OperationNotAllowed"
    missing = arm.call("GET", f"{arm.vms}/no-such-vm", COMPUTE)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ResourceNotFound")


def test_network_reads_and_rule_health_match_the_specification(arm: Arm, lro: StrictLro) -> None:
    arm.call("GET", arm.lbs, NETWORK)
    arm.call("GET", arm.lb, NETWORK)

    def health() -> httpx.Response:
        return arm.call("POST", f"{arm.lb}/loadBalancingRules/http/health", NETWORK)

    def up() -> bool:
        accepted = health()
        if accepted.status_code == 503:  # the data plane has not started yet
            return False
        final = lro.complete(accepted, "location")
        return final is not None and final.json()["up"] > 0

    wait_for(up, timeout=60, what="the rule health to report backends up")
    final = lro.complete(health(), "azure-async-operation")
    assert final is not None and final.status_code == 200


def test_extension_changes_match_the_specification(arm: Arm, lro: StrictLro) -> None:
    name = arm.vm_names()[0]
    extensions = f"{arm.vms}/{name}/extensions"
    arm.call("GET", extensions, COMPUTE)
    body = {
        "location": arm.location,
        "properties": {
            "publisher": "Microsoft.Azure.Extensions",
            "type": "CustomScript",
            "typeHandlerVersion": "2.1",
            "settings": {"commandToExecute": "true"},
        },
    }
    created = arm.call("PUT", f"{extensions}/contract", COMPUTE, json=body)
    assert created.status_code == 201
    lro.complete(created, "azure-async-operation")
    arm.call("GET", f"{extensions}/contract", COMPUTE, params={"$expand": "instanceView"})
    patch = {"properties": {"settings": {"commandToExecute": "false"}}}
    patched = arm.call("PATCH", f"{extensions}/contract", COMPUTE, json=patch)
    lro.complete(patched, "azure-async-operation")
    lro.complete(arm.call("DELETE", f"{extensions}/contract", COMPUTE), "location")
    assert arm.call("DELETE", f"{extensions}/contract", COMPUTE).status_code == 204


POWER_SEQUENCE = [  # every power operation, alternating the two polling styles
    ("powerOff", {}, "azure-async-operation", "stopped"),
    ("start", {}, "location", "running"),
    ("powerOff", {"skipShutdown": "true"}, "location", "stopped"),
    ("start", {}, "azure-async-operation", "running"),
    ("deallocate", {}, "location", "deallocated"),
    ("start", {}, "location", "running"),
    ("restart", {}, "azure-async-operation", "running"),
    ("redeploy", {}, "location", "running"),
    ("reimage", {}, "azure-async-operation", "running"),
    ("deallocate", {}, "azure-async-operation", "deallocated"),
    ("start", {}, "azure-async-operation", "running"),
]


def test_strict_client_completes_every_power_operation_in_both_polling_styles(
    arm: Arm, lro: StrictLro
) -> None:
    name = arm.vm_names()[1]
    for action, params, style, power in POWER_SEQUENCE:
        accepted = arm.call("POST", f"{arm.vms}/{name}/{action}", COMPUTE, params=params)
        assert accepted.status_code == 202, f"{action}: {accepted.status_code}"
        location = accepted.headers["Location"]
        assert f"/operations/{accepted.headers['x-ms-request-id']}?" in location
        assert "/providers/Microsoft.Compute/locations/" in location
        assert "/operations/" in location and "monitor=true" in location
        final = lro.complete(accepted, style)  # type: ignore[arg-type]
        assert final is not None and final.status_code == 200 and not final.content
        view = arm.call("GET", f"{arm.vms}/{name}/instanceView", COMPUTE).json()
        codes = [s["code"] for s in view["statuses"]]
        assert f"PowerState/{power}" in codes, f"after {action}: {codes}"
    nothing_to_do = arm.call("POST", f"{arm.vms}/{name}/start", COMPUTE)
    assert nothing_to_do.status_code == 200 and "Location" not in nothing_to_do.headers


def test_a_second_power_operation_is_refused_and_delete_preempts(
    start_emulator: Callable[..., RunningEmulator], contract: Contract
) -> None:
    """docs/azure-behaviour.md §2.6: OperationNotAllowed for a second operation while one
    runs; a delete preempts it (status Canceled, error OperationPreempted). A long powerOff
    (600 platform s) keeps the first operation running for as long as the test needs."""
    slow = start_emulator("[timings]\npower_off = 600\n")
    headers = {"Authorization": f"Bearer {slow.info.token}"}
    with httpx.Client(headers=headers, timeout=30) as http:
        arm, lro = Arm(slow, http, contract), StrictLro(http, contract)
        name = arm.vm_names()[0]
        running = arm.call("POST", f"{arm.vms}/{name}/powerOff", COMPUTE)
        assert running.status_code == 202
        in_progress = http.get(running.headers["Azure-AsyncOperation"])
        contract.check(in_progress)
        assert in_progress.json()["status"] == "InProgress"
        assert int(in_progress.headers["Retry-After"]) >= 1
        at_location = http.get(running.headers["Location"])
        contract.check(at_location)
        assert at_location.status_code == 202 and int(at_location.headers["Retry-After"]) >= 1
        second = arm.call("POST", f"{arm.vms}/{name}/start", COMPUTE)
        assert (second.status_code, second.json()["error"]["code"]) == (409, "OperationNotAllowed")
        assert "another operation is in progress" in second.json()["error"]["message"]
        assert "Retry-After" not in second.headers
        deleting = arm.call("DELETE", f"{arm.vms}/{name}", COMPUTE)
        assert deleting.status_code == 202
        # the preemption is immediate: the first operation's monitor and Location say so now
        # (StrictLro would first wait the 202's Retry-After, 12 s for this long powerOff)
        status = http.get(running.headers["Azure-AsyncOperation"])
        contract.check(status)
        assert status.json()["status"] == "Canceled"
        assert status.json()["error"]["code"] == "OperationPreempted"
        result = http.get(running.headers["Location"])
        contract.check(result)
        assert (result.status_code, result.json()["error"]["code"]) == (409, "OperationPreempted")
        assert lro.complete(deleting, "location") is not None
        assert arm.call("GET", f"{arm.vms}/{name}", COMPUTE).status_code == 404


def test_simulate_eviction_is_204(arm: Arm) -> None:
    spot = arm.vm_names("Spot")[0]
    assert arm.call("POST", f"{arm.vms}/{spot}/simulateEviction", COMPUTE).status_code == 204


def _chaos_target(arm: Arm, vm: str) -> str:
    return f"{arm.vms}/{vm}/providers/Microsoft.Chaos/targets/Microsoft-VirtualMachine"


def test_chaos_target_and_capability_status_follows_the_api_version(arm: Arm) -> None:
    """2025-01-01 declares 201 for a created target/capability; 2023-11-01 declares 200 only."""
    vm = arm.vm_names()[0]
    target = _chaos_target(arm, vm)
    for version, created in ((CHAOS_2023, 200), (CHAOS, 201)):
        first = arm.call("PUT", target, version, json={"properties": {}})
        assert first.status_code == created, version
        assert arm.call("PUT", target, version, json={"properties": {}}).status_code == 200
        capability = f"{target}/capabilities/Shutdown-1.0"
        assert arm.call("PUT", capability, version, json={"properties": {}}).status_code == created
        arm.call("GET", capability, version)
        assert arm.call("DELETE", capability, version).status_code == 200
        assert arm.call("DELETE", capability, version).status_code == 204
        arm.call("GET", target, version)
        assert arm.call("DELETE", target, version).status_code == 200
        assert arm.call("DELETE", target, version).status_code == 204


def test_strict_client_completes_every_chaos_studio_call(
    arm: Arm, lro: StrictLro, emulator: RunningEmulator
) -> None:
    vm = arm.vm_names()[0]
    target = _chaos_target(arm, vm)
    arm.call("PUT", target, CHAOS, json={"properties": {}})
    arm.call("PUT", f"{target}/capabilities/Shutdown-1.0", CHAOS, json={"properties": {}})
    arm.call("GET", f"{arm.vms}/{vm}/providers/Microsoft.Chaos/targets", CHAOS)
    arm.call("GET", f"{target}/capabilities", CHAOS)
    target_id = target.split(emulator.info.arm_url, 1)[1]
    experiment = {
        "location": arm.location,
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "selectors": [
                {
                    "type": "List",
                    "id": "s1",
                    "targets": [{"type": "ChaosTarget", "id": target_id}],
                }
            ],
            "steps": [
                {
                    "name": "step1",
                    "branches": [
                        {
                            "name": "branch1",
                            "actions": [
                                {
                                    "type": "continuous",
                                    "name": SHUTDOWN,
                                    "duration": "PT10M",
                                    "parameters": [{"key": "abruptShutdown", "value": "true"}],
                                    "selectorId": "s1",
                                }
                            ],
                        }
                    ],
                }
            ],
        },
    }
    url = f"{arm.experiments}/contract"
    created = arm.call("PUT", url, CHAOS, json=experiment)
    assert created.status_code == 201 and "Azure-AsyncOperation" in created.headers
    final = lro.complete(created, "azure-async-operation")
    assert final is not None and final.json()["properties"]["provisioningState"] == "Succeeded"
    arm.call("GET", arm.experiments, CHAOS)
    arm.call("GET", f"{arm.sub}/providers/Microsoft.Chaos/experiments", CHAOS)
    started = arm.call("POST", f"{url}/start", CHAOS)
    assert started.status_code == 202
    status_url = started.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Chaos/locations/" in status_url
    lro.complete(started, "location")
    arm.call("GET", status_url.split("?")[0], CHAOS)
    executions = arm.call("GET", f"{url}/executions", CHAOS).json()["value"]
    execution = f"{url}/executions/{executions[0]['name']}"
    arm.call("GET", execution, CHAOS)
    arm.call("POST", f"{execution}/getExecutionDetails", CHAOS)
    lro.complete(arm.call("POST", f"{url}/cancel", CHAOS), "azure-async-operation")
    wait_for(
        lambda: (
            arm.call("GET", execution, CHAOS).json()["properties"]["status"].lower()
            not in ("running", "cancelling")
        ),
        timeout=60,
        what="the canceled execution to stop",
    )
    lro.complete(arm.call("DELETE", url, CHAOS), "location")
    assert arm.call("DELETE", url, CHAOS).status_code == 204
    assert arm.call("GET", url, CHAOS).status_code == 404


@pytest.mark.parametrize(
    ("version", "code"),
    [
        ("2019-01-01", "NoRegisteredProviderFound"),
        ("2026-04-01-preview", "NoRegisteredProviderFound"),
        ("x", "InvalidApiVersionParameter"),
        ("", "InvalidApiVersionParameter"),
    ],
)
def test_unsupported_api_versions_are_refused_as_arm_does(
    arm: Arm, http: httpx.Client, version: str, code: str
) -> None:
    answer = http.get(arm.vms, params={"api-version": version})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code
    assert "2026-04-01" in error["message"]  # names the supported version
    if code == "NoRegisteredProviderFound":
        assert "for type 'virtualMachines'" in error["message"]
    chaos = http.get(f"{arm.experiments}/x", params={"api-version": "2024-01-01"})
    assert "2025-01-01, 2023-11-01" in chaos.json()["error"]["message"]
    assert http.get(arm.vms).json()["error"]["code"] == "MissingApiVersionParameter"


def test_request_and_correlation_ids_on_every_answer(arm: Arm, http: httpx.Client) -> None:
    correlation, client_id = str(uuid.uuid4()), str(uuid.uuid4())
    headers = {"x-ms-correlation-request-id": correlation, "x-ms-client-request-id": client_id}
    ok = http.get(arm.vms, params={"api-version": COMPUTE}, headers=headers)
    refused = http.get(arm.vms, params={"api-version": "x"}, headers=headers)
    for answer in (ok, refused):
        assert answer.headers["x-ms-correlation-request-id"] == correlation
        assert answer.headers["x-ms-client-request-id"] == client_id
        assert uuid.UUID(answer.headers["x-ms-request-id"])
    assert ok.headers["x-ms-request-id"] != refused.headers["x-ms-request-id"]
    fresh = http.get(arm.vms, params={"api-version": COMPUTE})
    assert uuid.UUID(fresh.headers["x-ms-correlation-request-id"])


def test_authorization_routes_match_the_specification_in_azure_mode(
    start_emulator: Callable[..., RunningEmulator], contract: Contract
) -> None:
    """Microsoft.Authorization 2022-04-01 (authorization_calls.py): permissions, role
    definitions and assignments to an Owner, a Reader's 403, a 401 without a token."""
    exercise_authorization(start_emulator(args=AZURE_MODE_ARGS), contract)


def test_every_served_arm_route_was_checked(contract: Contract) -> None:
    """Runs last in this module: each ARM route the emulator serves had at least one answer
    checked against its specification operation above."""
    unchecked = []
    for route in arm_routes():
        ops = spec_operation_for(route, contract)
        if not any((op.file, op.method.upper(), op.path) in contract.checked for op in ops):
            unchecked.append(f"{route.method} {route.path}")
    assert not unchecked, "served ARM routes never checked:\n" + "\n".join(unchecked)
