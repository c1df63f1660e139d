"""Microsoft.Authorization routes: what the caller may do at a scope (`permissions`), role
definitions and role assignments (docs/azure-behaviour.md §11).

Outside Azure mode there is no access control: the permissions API answers `*`.

Routes and answers follow Authorization's 2022-04-01 specification (the version the harness
sends; tests/contract/specs/authorization): permissions are listed at a resource group or a
resource (the specification has no subscription-level permissions operation, so none is served);
role assignments are listed and created at subscription or resource group scope; role
definitions listed, read and created at subscription scope.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from emulator.identity.arm_auth import PRINCIPAL
from emulator.identity.rbac import Authorization, RoleDefinition
from emulator.identity.state import AUTHORIZATION
from emulator.models.errors import (
    InvalidRequestContent,
    RoleAssignmentExists,
    RoleDefinitionDoesNotExist,
)
from emulator.responses._arm import check_scope, check_subscription, json_object
from emulator.routing import Route

AUTHZ = "/providers/Microsoft.Authorization"
SUB = "/subscriptions/{subscriptionId}"
RG = SUB + "/resourceGroups/{resourceGroupName}"
RESOURCE = RG + "/providers/{resourcePath:.+}"
EVERYTHING = [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]


def _scope(request: web.Request) -> str:
    """The scope a request names: the path before /providers/Microsoft.Authorization."""
    if "resourceGroupName" in request.match_info:
        check_scope(request)
    else:
        check_subscription(request)
    scope = request.path[: request.path.lower().index(AUTHZ.lower())]
    # the SDK writes a top-level resource's empty parentResourcePath as `…/Microsoft.Compute//
    # virtualMachines/…`; ARM reads it as the resource's id
    return "/" + "/".join(part for part in scope.split("/") if part)


def _store(request: web.Request) -> Authorization | None:
    return request.app.get(AUTHORIZATION)


async def permissions(request: web.Request) -> web.Response:
    scope = _scope(request)
    store = _store(request)
    principal = request.get(PRINCIPAL)
    if store is None or principal is None:
        return web.json_response({"value": EVERYTHING})
    return web.json_response({"value": store.permissions(principal, scope)})


def _require_store(request: web.Request) -> Authorization:
    store = _store(request)
    if store is None:
        raise RoleDefinitionDoesNotExist(
            "The emulator is not in Azure mode: it keeps no role definitions (--azure-mode)."
        )
    return store


async def list_role_definitions(request: web.Request) -> web.Response:
    _scope(request)
    store = _require_store(request)
    sub = store.subscription_id
    return web.json_response({"value": [d.to_json(sub) for d in store.definitions.values()]})


async def get_role_definition(request: web.Request) -> web.Response:
    _scope(request)
    store = _require_store(request)
    name = request.match_info["roleDefinitionId"]
    definition = store.definitions.get(name)
    if definition is None:
        raise RoleDefinitionDoesNotExist("The specified role definition with ID "
                                         f"'{name}' does not exist.")  # fmt: skip
    return web.json_response(definition.to_json(store.subscription_id))


async def put_role_definition(request: web.Request) -> web.Response:
    _scope(request)
    store = _require_store(request)
    body = await json_object(request)
    definition = store.define(
        RoleDefinition.from_json(body, request.match_info["roleDefinitionId"])
    )
    return web.json_response(definition.to_json(store.subscription_id), status=201)


async def list_role_assignments(request: web.Request) -> web.Response:
    scope = _scope(request)
    store = _require_store(request)
    sub = store.subscription_id
    here = scope.lower()
    value = [
        a.to_json(sub)
        for a in store.assignments.values()
        if a.scope.lower().startswith(here) or here.startswith(a.scope.lower())
    ]
    return web.json_response({"value": value})


async def put_role_assignment(request: web.Request) -> web.Response:
    scope = _scope(request)
    store = _require_store(request)
    body: dict[str, Any] = await json_object(request)
    props = body.get("properties") or {}
    definition_id = str(props.get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1]
    principal = props.get("principalId")
    if not principal or not definition_id:
        raise InvalidRequestContent("A role assignment needs properties.roleDefinitionId and "
                                    "properties.principalId.")  # fmt: skip
    if definition_id not in store.definitions:
        raise RoleDefinitionDoesNotExist(f"The role definition '{definition_id}' does not exist.")
    if store.holds(str(principal), definition_id, scope):
        raise RoleAssignmentExists("The role assignment already exists.")
    assignment = store.assign(str(principal), definition_id, scope)
    store.assignments.pop(assignment.name)
    assignment.name = request.match_info.get("roleAssignmentName") or str(uuid.uuid4())
    store.assignments[assignment.name] = assignment
    return web.json_response(assignment.to_json(store.subscription_id), status=201)


ROUTES: list[Route] = []
for _base in (RG, RESOURCE):
    ROUTES.append(Route("GET", _base + AUTHZ + "/permissions", permissions))
for _base in (SUB, RG):
    ROUTES += [
        Route("GET", _base + AUTHZ + "/roleAssignments", list_role_assignments),
        Route("PUT", _base + AUTHZ + "/roleAssignments/{roleAssignmentName}", put_role_assignment),
    ]
ROUTES += [
    Route("GET", SUB + AUTHZ + "/roleDefinitions", list_role_definitions),
    Route("GET", SUB + AUTHZ + "/roleDefinitions/{roleDefinitionId}", get_role_definition),
    Route("PUT", SUB + AUTHZ + "/roleDefinitions/{roleDefinitionId}", put_role_definition),
]
