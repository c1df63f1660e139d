# ruff: noqa: E501  (a table of routes and actions reads best one per line)
"""Role-based access in the emulator, as rules: every ARM route it serves maps to Azure's
action string, wildcards and notActions behave as Azure RBAC's, and scopes inherit downwards.
Pure functions, no process started."""

from __future__ import annotations

import re

import pytest

from emulator.identity.actions import action_for, scope_for
from emulator.identity.rbac import Authorization, RoleDefinition, matches, within
from emulator.urls import all_routes
from fleet.permissions import permitted

SUB = "/subscriptions/s"
RG = f"{SUB}/resourceGroups/rg"
VM = f"{RG}/providers/Microsoft.Compute/virtualMachines/vm1"
TARGET = f"{VM}/providers/Microsoft.Chaos/targets/Microsoft-VirtualMachine"
EXP = f"{RG}/providers/Microsoft.Chaos/experiments/e1"
LB = f"{RG}/providers/Microsoft.Network/loadBalancers/lb"

# Every ARM route the emulator serves (method, concrete path) → Azure's action.
EXPECTED = {
    ("GET", f"{RG}/providers/Microsoft.Compute/virtualMachineScaleSets"): "Microsoft.Compute/virtualMachineScaleSets/read",
    ("GET", f"{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets"): "Microsoft.Compute/virtualMachineScaleSets/read",
    ("GET", f"{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss"): "Microsoft.Compute/virtualMachineScaleSets/read",
    ("PATCH", f"{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss"): "Microsoft.Compute/virtualMachineScaleSets/write",
    ("GET", f"{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss/instanceView"): "Microsoft.Compute/virtualMachineScaleSets/instanceView/read",
    ("GET", f"{RG}/providers/Microsoft.Compute/virtualMachines"): "Microsoft.Compute/virtualMachines/read",
    ("GET", f"{SUB}/providers/Microsoft.Compute/virtualMachines"): "Microsoft.Compute/virtualMachines/read",
    ("GET", VM): "Microsoft.Compute/virtualMachines/read",
    ("DELETE", VM): "Microsoft.Compute/virtualMachines/delete",
    ("GET", f"{VM}/instanceView"): "Microsoft.Compute/virtualMachines/instanceView/read",
    ("POST", f"{VM}/simulateEviction"): "Microsoft.Compute/virtualMachines/simulateEviction/action",
    ("POST", f"{VM}/powerOff"): "Microsoft.Compute/virtualMachines/powerOff/action",
    ("POST", f"{VM}/deallocate"): "Microsoft.Compute/virtualMachines/deallocate/action",
    ("POST", f"{VM}/start"): "Microsoft.Compute/virtualMachines/start/action",
    ("POST", f"{VM}/restart"): "Microsoft.Compute/virtualMachines/restart/action",
    ("POST", f"{VM}/redeploy"): "Microsoft.Compute/virtualMachines/redeploy/action",
    ("POST", f"{VM}/reimage"): "Microsoft.Compute/virtualMachines/reimage/action",
    ("GET", f"{VM}/extensions"): "Microsoft.Compute/virtualMachines/extensions/read",
    ("GET", f"{VM}/extensions/x"): "Microsoft.Compute/virtualMachines/extensions/read",
    ("PUT", f"{VM}/extensions/x"): "Microsoft.Compute/virtualMachines/extensions/write",
    ("PATCH", f"{VM}/extensions/x"): "Microsoft.Compute/virtualMachines/extensions/write",
    ("DELETE", f"{VM}/extensions/x"): "Microsoft.Compute/virtualMachines/extensions/delete",
    ("GET", f"{SUB}/providers/Microsoft.Compute/locations/eastus/operations/1"): "Microsoft.Compute/locations/operations/read",
    ("GET", f"{RG}/providers/Microsoft.Network/loadBalancers"): "Microsoft.Network/loadBalancers/read",
    ("GET", LB): "Microsoft.Network/loadBalancers/read",
    ("POST", f"{LB}/loadBalancingRules/r/health"): "Microsoft.Network/loadBalancers/loadBalancingRules/health/action",
    ("GET", f"{SUB}/providers/Microsoft.Network/locations/eastus/operations/1"): "Microsoft.Network/locations/operations/read",
    ("GET", f"{SUB}/providers/Microsoft.Network/locations/eastus/operationResults/1"): "Microsoft.Network/locations/operationResults/read",
    ("GET", f"{VM}/providers/Microsoft.Chaos/targets"): "Microsoft.Chaos/targets/read",
    ("GET", TARGET): "Microsoft.Chaos/targets/read",
    ("PUT", TARGET): "Microsoft.Chaos/targets/write",
    ("DELETE", TARGET): "Microsoft.Chaos/targets/delete",
    ("GET", f"{TARGET}/capabilities"): "Microsoft.Chaos/targets/capabilities/read",
    ("GET", f"{TARGET}/capabilities/Shutdown-1.0"): "Microsoft.Chaos/targets/capabilities/read",
    ("PUT", f"{TARGET}/capabilities/Shutdown-1.0"): "Microsoft.Chaos/targets/capabilities/write",
    ("DELETE", f"{TARGET}/capabilities/Shutdown-1.0"): "Microsoft.Chaos/targets/capabilities/delete",
    ("GET", f"{SUB}/providers/Microsoft.Chaos/experiments"): "Microsoft.Chaos/experiments/read",
    ("GET", f"{RG}/providers/Microsoft.Chaos/experiments"): "Microsoft.Chaos/experiments/read",
    ("GET", EXP): "Microsoft.Chaos/experiments/read",
    ("PUT", EXP): "Microsoft.Chaos/experiments/write",
    ("DELETE", EXP): "Microsoft.Chaos/experiments/delete",
    ("POST", f"{EXP}/start"): "Microsoft.Chaos/experiments/start/action",
    ("POST", f"{EXP}/cancel"): "Microsoft.Chaos/experiments/cancel/action",
    ("GET", f"{EXP}/executions"): "Microsoft.Chaos/experiments/executions/read",
    ("GET", f"{EXP}/executions/x1"): "Microsoft.Chaos/experiments/executions/read",
    ("POST", f"{EXP}/executions/x1/getExecutionDetails"): "Microsoft.Chaos/experiments/executions/getExecutionDetails/action",
    ("GET", f"{SUB}/providers/Microsoft.Chaos/locations/eastus/operationStatuses/1"): "Microsoft.Chaos/locations/operationStatuses/read",
    ("GET", f"{SUB}/providers/Microsoft.Chaos/locations/eastus/operationResults/1"): "Microsoft.Chaos/locations/operationResults/read",
    ("GET", f"{RG}/providers/Microsoft.Authorization/permissions"): "Microsoft.Authorization/permissions/read",
    ("GET", f"{VM}/providers/Microsoft.Authorization/permissions"): "Microsoft.Authorization/permissions/read",
    ("GET", f"{RG}/providers/Microsoft.Authorization/roleAssignments"): "Microsoft.Authorization/roleAssignments/read",
    ("GET", f"{SUB}/providers/Microsoft.Authorization/roleAssignments"): "Microsoft.Authorization/roleAssignments/read",
    ("PUT", f"{SUB}/providers/Microsoft.Authorization/roleAssignments/a1"): "Microsoft.Authorization/roleAssignments/write",
    ("PUT", f"{RG}/providers/Microsoft.Authorization/roleAssignments/a1"): "Microsoft.Authorization/roleAssignments/write",
    ("GET", f"{SUB}/providers/Microsoft.Authorization/roleDefinitions"): "Microsoft.Authorization/roleDefinitions/read",
    ("GET", f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/d1"): "Microsoft.Authorization/roleDefinitions/read",
    ("PUT", f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/d1"): "Microsoft.Authorization/roleDefinitions/write",
}  # fmt: skip


def _served(method: str, path: str) -> bool:
    for route in all_routes():
        if route.method != method or not route.path.startswith("/subscriptions"):
            continue
        pattern = re.sub(r"\{[^}:]+:([^}]+)\}", r"(\1)", route.path)
        pattern = re.sub(r"\{[^}]+\}", r"[^/]+", pattern)
        if re.fullmatch(pattern, path):
            return True
    return False


@pytest.mark.parametrize(("method", "path"), list(EXPECTED))
def test_each_served_route_maps_to_azures_action(method: str, path: str) -> None:
    assert _served(method, path), f"the emulator does not serve {method} {path}"
    assert action_for(method, path) == EXPECTED[(method, path)]


def test_every_served_arm_route_is_in_the_table() -> None:
    arm = [r for r in all_routes() if r.path.startswith("/subscriptions")]
    covered = [r for r in arm if any(
        m == r.method and _served(m, p) and re.fullmatch(
            re.sub(r"\{[^}]+\}", r"[^/]+", re.sub(r"\{[^}:]+:([^}]+)\}", r"(\1)", r.path)), p)
        for m, p in EXPECTED
    )]  # fmt: skip
    assert len(covered) == len(arm), [f"{r.method} {r.path}" for r in arm if r not in covered]


def test_scope_is_the_resource_an_action_acts_on() -> None:
    assert scope_for("POST", f"{VM}/powerOff") == VM
    assert scope_for("GET", VM) == VM


def test_wildcards_not_actions_and_case() -> None:
    assert matches("*", "Microsoft.Compute/virtualMachines/start/action")
    assert matches("*/read", "Microsoft.Network/loadBalancers/read")
    assert matches("Microsoft.Compute/*", "microsoft.compute/virtualmachines/powerOff/action")
    assert not matches("*/read", "Microsoft.Compute/virtualMachines/powerOff/action")
    contributor = [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}]
    assert permitted(contributor, "Microsoft.Compute/virtualMachines/powerOff/action")
    assert not permitted(contributor, "Microsoft.Authorization/roleAssignments/write")


def test_assignments_inherit_down_not_up_nor_sideways() -> None:
    assert within(VM, RG) and within(RG, SUB) and within(RG, RG.upper())
    assert not within(RG, VM) and not within(f"{SUB}/resourceGroups/rg2", RG)
    store = Authorization("s")
    role = store.define(
        RoleDefinition("d1", "vm operator", ["Microsoft.Compute/virtualMachines/*"])
    )
    store.assign("p1", role.name, RG)
    assert store.allowed("p1", "Microsoft.Compute/virtualMachines/start/action", VM)
    assert not store.allowed("p1", "Microsoft.Compute/virtualMachines/start/action", SUB)
    assert not store.allowed("p2", "Microsoft.Compute/virtualMachines/start/action", VM)
    assert not store.allowed("p1", "Microsoft.Network/loadBalancers/read", LB)
    assert store.permissions("p1", RG) == [
        {"actions": ["Microsoft.Compute/virtualMachines/*"], "notActions": [],
         "dataActions": [], "notDataActions": []}
    ]  # fmt: skip
