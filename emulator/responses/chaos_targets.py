"""Microsoft.Chaos targets and capabilities on a VM or the scale set (synchronous), with the
status codes each api-version's specification declares (docs/azure-behaviour.md §5.2, §5.3):
PUT 201 new / 200 updated in 2025-01-01 (azure-mgmt-chaos 2.0.0), 200 only in 2023-11-01;
DELETE 200 / 204 absent in both.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.api_versions import CHAOS_2023
from emulator.models.chaos.targets import TARGET_TYPES, ChaosTarget
from emulator.models.errors import BadRequest, ResourceNotFound
from emulator.responses._arm import api_version, check_scope, json_object, world
from emulator.routing import Route

RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
PARENT = RG + "/providers/{parentProviderNamespace}/{parentResourceType}/{parentResourceName}"
TARGETS = PARENT + "/providers/Microsoft.Chaos/targets"
TARGET = TARGETS + "/{targetName}"
CAPABILITIES = TARGET + "/capabilities"
CAPABILITY = CAPABILITIES + "/{capabilityName}"
PARENT_TYPES = ("virtualmachines", "virtualmachinescalesets")


def _put_status(request: web.Request, created: bool) -> int:
    """201 for a new resource where the api-version's specification declares it; else 200."""
    return 201 if created and api_version(request) != CHAOS_2023 else 200


def render_target(target: ChaosTarget) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "type": "Microsoft.Chaos/targets",
        "location": target.location,
        "properties": dict(target.properties),
    }


def render_capability(target: ChaosTarget, name: str) -> dict[str, Any]:
    spec = target.capability_spec(name)
    assert spec is not None
    return {
        "id": f"{target.id}/capabilities/{name}",
        "name": name,
        "type": "Microsoft.Chaos/targets/capabilities",
        "properties": {
            "publisher": "Microsoft",
            "targetType": spec.target_type,
            "description": spec.description,
            "parametersSchema": spec.parameters_schema,
            "urn": spec.urn,
        },
    }


def _parent(request: web.Request) -> str:
    """The canonical id of the target's parent (a VM or the scale set); 404 when missing."""
    group = check_scope(request)
    w = world(request)
    namespace = request.match_info["parentProviderNamespace"]
    kind = request.match_info["parentResourceType"]
    name = request.match_info["parentResourceName"]
    if namespace.lower() != "microsoft.compute" or kind.lower() not in PARENT_TYPES:
        raise BadRequest(
            f"The emulator serves Chaos targets on Microsoft.Compute/virtualMachines and "
            f"virtualMachineScaleSets only, not {namespace}/{kind}."
        )
    if kind.lower() == "virtualmachines":
        return w.get_vm(group, name).id
    if name.lower() != w.scale_set.name.lower():
        raise ResourceNotFound.in_group("Microsoft.Compute/virtualMachineScaleSets", name, group)
    return w.scale_set.id


def _target_type(request: web.Request, parent_id: str) -> str:
    """The canonical target name, valid for this parent's resource type."""
    name = request.match_info["targetName"]
    parent_type = parent_id.split("/")[-2].lower()
    for known, (resource_type, _) in TARGET_TYPES.items():
        if known.lower() == name.lower():
            if resource_type.lower() != parent_type:
                break
            return known
    allowed = [n for n, (t, _) in TARGET_TYPES.items() if t.lower() == parent_type]
    raise BadRequest(
        f"Target type '{name}' is not valid on {parent_id.split('/')[-2]}; use {allowed[0]}."
    )


def _existing_target(request: web.Request) -> ChaosTarget:
    parent_id = _parent(request)
    name = request.match_info["targetName"]
    target = world(request).chaos.target(parent_id, name)
    if target is None:
        raise ResourceNotFound(
            f"The Resource 'Microsoft.Chaos/targets/{name}' on '{parent_id}' was not found."
        )
    return target


def _capability_name(request: web.Request, target: ChaosTarget) -> str:
    name = request.match_info["capabilityName"]
    for known in TARGET_TYPES[target.name][1]:
        if known.lower() == name.lower():
            return known
    offered = ", ".join(TARGET_TYPES[target.name][1])
    raise BadRequest(f"Capability '{name}' does not exist on {target.name}; use one of {offered}.")


async def list_targets(request: web.Request) -> web.Response:
    parent_id = _parent(request)
    targets = world(request).chaos.targets_of(parent_id)
    return web.json_response({"value": [render_target(t) for t in targets]})


async def get_target(request: web.Request) -> web.Response:
    return web.json_response(render_target(_existing_target(request)))


async def put_target(request: web.Request) -> web.Response:
    parent_id = _parent(request)
    name = _target_type(request, parent_id)
    body = await json_object(request)
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise BadRequest("The target needs a 'properties' object (may be empty).")
    w = world(request)
    target = ChaosTarget(parent_id, name, str(body.get("location") or w.scale_set.location))
    target.properties = dict(properties)
    created = w.chaos.put_target(target)
    current = w.chaos.target(parent_id, name)
    assert current is not None
    return web.json_response(render_target(current), status=_put_status(request, created))


async def delete_target(request: web.Request) -> web.Response:
    parent_id = _parent(request)
    deleted = world(request).chaos.delete_target(parent_id, request.match_info["targetName"])
    return web.Response(status=200 if deleted else 204)


async def list_capabilities(request: web.Request) -> web.Response:
    target = _existing_target(request)
    return web.json_response(
        {"value": [render_capability(target, c) for c in target.capabilities.values()]}
    )


async def get_capability(request: web.Request) -> web.Response:
    target = _existing_target(request)
    name = _capability_name(request, target)
    if name.lower() not in target.capabilities:
        raise ResourceNotFound(
            f"The Resource 'Microsoft.Chaos/targets/capabilities/{target.name}/{name}' on "
            f"'{target.parent_id}' was not found."
        )
    return web.json_response(render_capability(target, name))


async def put_capability(request: web.Request) -> web.Response:
    target = _existing_target(request)
    name = _capability_name(request, target)
    await json_object(request)
    created = name.lower() not in target.capabilities
    target.capabilities[name.lower()] = name
    return web.json_response(render_capability(target, name), status=_put_status(request, created))


async def delete_capability(request: web.Request) -> web.Response:
    target = _existing_target(request)
    name = request.match_info["capabilityName"]
    deleted = target.capabilities.pop(name.lower(), None) is not None
    return web.Response(status=200 if deleted else 204)


ROUTES = [
    Route("GET", TARGETS, list_targets),
    Route("GET", TARGET, get_target),
    Route("PUT", TARGET, put_target),
    Route("DELETE", TARGET, delete_target),
    Route("GET", CAPABILITIES, list_capabilities),
    Route("GET", CAPABILITY, get_capability),
    Route("PUT", CAPABILITY, put_capability),
    Route("DELETE", CAPABILITY, delete_capability),
]
