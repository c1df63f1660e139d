"""Wire-format (JSON) bodies of VMs and scale sets, as Resource Manager returns them, for the
unit tests of the parsing and decision logic (no SDK, no server)."""

from __future__ import annotations

from typing import Any

SUB = "00000000-0000-0000-0000-00000000c0de"
RG = "rg-flexchaos"
SET = "vmss-web"
PROVIDER = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
SET_ID = f"{PROVIDER}/virtualMachineScaleSets/{SET}"


def vm(
    name: str,
    *,
    zone: str | None = "1",
    fd: int = 0,
    priority: str = "Regular",
    power: str = "running",
    health: str | None = "healthy",
    tags: dict[str, str] | None = None,
    size: str = "Standard_D2s_v3",
    settings: dict[str, Any] | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "platformFaultDomain": fd,
        "statuses": [
            {"code": "ProvisioningState/succeeded", "time": "2026-01-01T00:00:00Z"},
            {"code": f"PowerState/{power}", "displayStatus": f"VM {power}"},
        ],
        "extensions": [{"name": "HealthExtension", "type": "ApplicationHealthLinux"}],
    }
    if health is not None:
        view["vmHealth"] = {"status": {"code": f"HealthState/{health}"}}
    body: dict[str, Any] = {
        "id": f"{PROVIDER}/virtualMachines/{name}",
        "name": name,
        "location": "eastus",
        "tags": tags or {},
        "properties": {
            "priority": priority,
            "provisioningState": "Succeeded",
            "hardwareProfile": {"vmSize": size},
            "virtualMachineScaleSet": {"id": SET_ID},
            "instanceView": view,
            "timeCreated": "2026-01-01T00:00:00Z",
        },
    }
    if zone is not None:
        body["zones"] = [zone]
    if priority == "Spot":
        body["properties"]["evictionPolicy"] = "Deallocate"
    if settings is not None:
        body["resources"] = [
            {
                "name": "HealthExtension",
                "properties": {
                    "publisher": "Microsoft.ManagedServices",
                    "type": "ApplicationHealthLinux",
                    "typeHandlerVersion": "1.0",
                    "settings": settings,
                },
            }
        ]
    if address is not None:
        body["properties"]["networkProfile"] = {
            "networkInterfaces": [{"id": f"/x/networkInterfaces/{name}-nic"}]
        }
        body["properties"]["privateIPAddress"] = address
    return body


def scale_set(
    *,
    mode: str = "Flexible",
    tags: dict[str, str] | None = None,
    zones: list[str] | None = None,
    repairs: dict[str, Any] | None = None,
    mix: dict[str, Any] | None = None,
) -> dict[str, Any]:
    props: dict[str, Any] = {"orchestrationMode": mode, "platformFaultDomainCount": 1}
    if repairs is not None:
        props["automaticRepairsPolicy"] = repairs
    if mix is not None:
        props["priorityMixPolicy"] = mix
    return {
        "id": SET_ID,
        "name": SET,
        "location": "eastus",
        "tags": {"chaos": "allowed"} if tags is None else tags,
        "zones": ["1", "2", "3"] if zones is None else zones,
        "properties": props,
    }


def fleet(n: int = 6, spot: int = 2) -> list[dict[str, Any]]:
    """n VMs over zones 1-3, the last `spot` of them Spot."""
    return [
        vm(
            f"{SET}_{i:08x}",
            zone=str(i % 3 + 1),
            fd=i % 2,
            priority="Spot" if i >= n - spot else "Regular",
        )
        for i in range(n)
    ]
