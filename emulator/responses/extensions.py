"""Microsoft.Compute/virtualMachines/{vm}/extensions: GET, list, PUT, PATCH, DELETE.

Shapes follow compute 39 (properties.publisher/type/typeHandlerVersion/settings). Changes are
long-running operations whose settings take effect when they complete (extension_updated).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models import Extension, VirtualMachine
from emulator.models.errors import InvalidParameter, InvalidRequestContent
from emulator.responses._arm import check_scope, json_body, world
from emulator.responses.operations import accepted
from emulator.routing import Route

EXT = "/providers/Microsoft.Compute/virtualMachines/{vmName}/extensions"
BASE = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" + EXT
NOT_JSON = "The request content is not valid JSON."


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


def _fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("properties", {}), dict):
        raise InvalidRequestContent(NOT_JSON)
    props = body.get("properties", {})
    settings = props.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise InvalidParameter("The value of parameter settings is invalid.")
    return {
        "publisher": props.get("publisher"),
        "type": props.get("type"),
        "type_handler_version": props.get("typeHandlerVersion"),
        "auto_upgrade_minor_version": props.get("autoUpgradeMinorVersion"),
        "settings": settings,
    }


async def get_extension(request: web.Request) -> web.Response:
    group = check_scope(request)
    w = world(request)
    vm = w.get_vm(group, request.match_info["vmName"])
    ext = w.extension(group, vm.name, request.match_info["vmExtensionName"])
    body = render_extension(vm, ext, w.scale_set.location)
    if request.query.get("$expand", "").lower() == "instanceview":
        body["properties"]["instanceView"] = render_extension_instance_view(vm, ext)
    return web.json_response(body)


async def list_extensions(request: web.Request) -> web.Response:
    group = check_scope(request)
    w = world(request)
    vm = w.get_vm(group, request.match_info["vmName"])
    items = [render_extension(vm, e, w.scale_set.location) for e in vm.extensions.values()]
    return web.json_response({"value": items})


async def _put_or_patch(request: web.Request, merge: bool) -> web.Response:
    group = check_scope(request)
    w = world(request)
    vm = w.get_vm(group, request.match_info["vmName"])
    name = request.match_info["vmExtensionName"]
    fields = _fields(await json_body(request, NOT_JSON))
    op, created = w.begin_put_extension(vm.name, name, fields, merge=merge)
    current = vm.extensions.get(name)
    preview = Extension(
        name=name,
        publisher=fields["publisher"] or (current.publisher if current else ""),
        type=fields["type"] or (current.type if current else ""),
        type_handler_version=fields["type_handler_version"]
        or (current.type_handler_version if current else ""),
        settings=fields["settings"]
        if fields["settings"] is not None
        else (current.settings if current else {}),
        provisioning_state="Creating" if created else "Updating",
    )
    body = render_extension(vm, preview, w.scale_set.location)
    return accepted(request, op, status=201 if created else 200, body=body, location=False)


async def put_extension(request: web.Request) -> web.Response:
    return await _put_or_patch(request, merge=False)


async def patch_extension(request: web.Request) -> web.Response:
    return await _put_or_patch(request, merge=True)


async def delete_extension(request: web.Request) -> web.Response:
    group = check_scope(request)
    w = world(request)
    vm = w.get_vm(group, request.match_info["vmName"])
    name = request.match_info["vmExtensionName"]
    if name not in vm.extensions:
        return web.Response(status=204)
    return accepted(request, w.begin_delete_extension(vm.name, name))


ROUTES = [
    Route("GET", BASE, list_extensions),
    Route("GET", BASE + "/{vmExtensionName}", get_extension),
    Route("PUT", BASE + "/{vmExtensionName}", put_extension),
    Route("PATCH", BASE + "/{vmExtensionName}", patch_extension),
    Route("DELETE", BASE + "/{vmExtensionName}", delete_extension),
]
