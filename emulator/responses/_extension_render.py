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
    if ext.is_health_extension and vm.health_state is not None:
        view["substatuses"] = _health_substatuses(ext, vm.health_state)
    return view


def _health_substatuses(ext: Extension, state: str) -> list[dict[str, Any]]:
    """The handler's substatuses (main/cmds.go, main/health.go): AppHealthStatus, and for Rich
    health states (handler 2.x) ApplicationHealthState naming the state."""
    healthy = state == "Healthy"
    out = []
    if state in ("Healthy", "Unhealthy") or ext.type_handler_version.startswith("2"):
        out.append(
            {
                "code": "ComponentStatus/AppHealthStatus/" + ("succeeded" if healthy else "failed"),
                "level": "Info" if healthy else "Error",
                "displayStatus": "Provisioning succeeded" if healthy else "Provisioning failed",
                "message": "Application found to be " + ("healthy" if healthy else "unhealthy"),
            }
        )
    if ext.type_handler_version.startswith("2"):
        level = {"Initializing": "Info", "Unknown": "Error"}.get(state, "Info")
        code = {"Initializing": "transitioning", "Unknown": "failed"}.get(state, "succeeded")
        out.append(
            {
                "code": f"ComponentStatus/ApplicationHealthState/{code}",
                "level": level,
                "displayStatus": f"Provisioning {code}",
                "message": state,
            }
        )
    return out
