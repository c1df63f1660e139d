"""How an extension and its instance view render (compute 39 shapes), shared by the extension
routes, the VM routes and the Location of an extension change (responses/operations.py)."""

from __future__ import annotations

from typing import Any

from emulator.models import Extension, VirtualMachine


def render_extension(vm: VirtualMachine, ext: Extension, location: str) -> dict[str, Any]:
    return {
        "id": f"{vm.id}/extensions/{ext.name}",
        "name": ext.name,
        "type": "Microsoft.Compute/virtualMachines/extensions",
        "location": location,
        "properties": {
            "publisher": ext.publisher,
            "type": ext.type,
            "typeHandlerVersion": ext.type_handler_version,
            "autoUpgradeMinorVersion": ext.auto_upgrade_minor_version,
            "settings": dict(ext.settings),
            "provisioningState": ext.provisioning_state,
        },
    }


def render_extension_instance_view(vm: VirtualMachine, ext: Extension) -> dict[str, Any]:
    state = ext.provisioning_state.lower()
    view: dict[str, Any] = {
        "name": ext.name,
        "type": f"{ext.publisher}.{ext.type}",
        "typeHandlerVersion": ext.type_handler_version,
        "statuses": [
            {
                "code": f"ProvisioningState/{state}",
                "level": "Info",
                "displayStatus": f"Provisioning {state}",
            }
        ],
    }
    if ext.is_health_extension and vm.health_state in ("Healthy", "Unhealthy"):
        healthy = vm.health_state == "Healthy"
        view["substatuses"] = [
            {
                "code": "ComponentStatus/AppHealthStatus/" + ("succeeded" if healthy else "failed"),
                "level": "Info" if healthy else "Error",
                "displayStatus": "Provisioning succeeded" if healthy else "Provisioning failed",
                "message": "Application found to be " + ("healthy" if healthy else "unhealthy"),
            }
        ]
    return view
