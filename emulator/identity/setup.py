"""Azure mode's start-up: certificates, the Entra stand-in, the app's role assignment, and what
the ready line tells clients (CA file, authority, tenant, client id and secret, a federated
token file), plus `PUT /_emulator/role`, which swaps the app's role for tests.

The role given by `--role` (Owner | Contributor | Reader | none | a custom-role JSON file in
Azure CLI's format) is assigned to the app's service principal at `--role-scope`
(subscription | resource-group | scale-set).
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.identity.rbac import Authorization, RoleDefinition
from emulator.identity.state import AUTHORIZATION, IDENTITY
from emulator.identity.tls import server_context, write_certificates
from emulator.identity.tokens import DEFAULT_CLIENT, DEFAULT_SUBJECT, DEFAULT_TENANT, Identity
from emulator.models import World
from emulator.models.errors import InvalidRequestContent
from emulator.responses._arm import world
from emulator.routing import Route

ROLE_SCOPES = ("subscription", "resource-group", "scale-set")
CUSTOM_ROLE_ID = "f1e0c4a0-0000-4000-8000-000000007013"  # the custom role's GUID


@dataclass(frozen=True)
class AzureModeOptions:
    state_dir: Path
    token_lifetime_s: float = 3600.0
    role: str = "Owner"
    role_scope: str = "resource-group"
    tenant_id: str = DEFAULT_TENANT
    client_id: str = DEFAULT_CLIENT
    federated_subject: str = DEFAULT_SUBJECT


def read_role(role: str) -> RoleDefinition | str | None:
    """A built-in role's name, None for no role, or the custom role a JSON file defines.
    Raises ValueError with one readable line."""
    if role.lower() == "none":
        return None
    if role.lower() in ("owner", "contributor", "reader"):
        return role
    path = Path(role)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"--role {role}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ValueError(f"--role {role}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"--role {role}: a role definition is a JSON object")
    return RoleDefinition.from_json(data, CUSTOM_ROLE_ID)


def scope_of(world: World, role_scope: str) -> str:
    s = world.scale_set
    sub = f"/subscriptions/{s.subscription_id}"
    if role_scope == "subscription":
        return sub
    group = f"{sub}/resourceGroups/{s.resource_group}"
    if role_scope == "resource-group":
        return group
    return f"{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{s.name}"


def assign_role(store: Authorization, principal: str, role: RoleDefinition | str | None,
                scope: str) -> None:  # fmt: skip
    """Replace the principal's assignments with `role` at `scope` (none: no access at all)."""
    for name in [n for n, a in store.assignments.items() if a.principal_id == principal]:
        del store.assignments[name]
    if role is None:
        return
    if isinstance(role, RoleDefinition):
        definition = store.define(role)
    else:
        found = store.by_role_name(role)
        assert found is not None  # built-in names are checked by read_role
        definition = found
    store.assign(principal, definition.name, scope)


def enable(app: web.Application, world: World, options: AzureModeOptions) -> ssl.SSLContext:
    """Put the Entra stand-in and the access store on the application; the TLS context."""
    _ca, cert, key = write_certificates(options.state_dir)
    identity = Identity(
        tenant_id=options.tenant_id,
        client_id=options.client_id,
        token_lifetime_s=options.token_lifetime_s,
        federated_subject=options.federated_subject,
    )
    store = Authorization(world.scale_set.subscription_id)
    assign_role(store, identity.object_id, read_role(options.role),
                scope_of(world, options.role_scope))  # fmt: skip
    app[IDENTITY] = identity
    app[AUTHORIZATION] = store
    return server_context(cert, key)


def ready_details(app: web.Application, options: AzureModeOptions, port: int) -> dict[str, Any]:
    """Once listening: the authority is known; write the federated token file."""
    identity = app[IDENTITY]
    identity.authority = f"https://127.0.0.1:{port}"
    token_file = options.state_dir / "federated-token"
    token_file.write_text(identity.federated_token())
    return {
        "azure_mode": True,
        "ca_file": str(options.state_dir / "ca.pem"),
        "authority_host": identity.authority,
        "tenant_id": identity.tenant_id,
        "client_id": identity.client_id,
        "client_secret": identity.client_secret,
        "principal_id": identity.object_id,
        "federated_token_file": str(token_file),
        "federated_subject": identity.federated_subject,
        "token_lifetime_s": identity.token_lifetime_s,
    }


async def put_role(request: web.Request) -> web.Response:
    """Emulator-only: {"role": <custom role object> | "Owner" | … | null, "scope"?,
    "token_lifetime_s"?} replaces the app's role assignment (tests)."""
    identity, store = request.app.get(IDENTITY), request.app.get(AUTHORIZATION)
    if identity is None or store is None:
        raise web.HTTPNotFound(text="the emulator is not in Azure mode (--azure-mode)")
    body: Any = await request.json()
    role = body.get("role") if isinstance(body, dict) else None
    scope = scope_of(world(request), str(body.get("scope", "resource-group")))
    if isinstance(role, dict):
        definition: RoleDefinition | str | None = RoleDefinition.from_json(role, CUSTOM_ROLE_ID)
    elif role is None or str(role).lower() == "none":
        definition = None
    elif str(role).lower() in ("owner", "contributor", "reader"):
        definition = str(role)
    else:
        raise InvalidRequestContent("role: a custom role object, a built-in name or null")
    assign_role(store, identity.object_id, definition, scope)
    if "token_lifetime_s" in body:
        identity.token_lifetime_s = float(body["token_lifetime_s"])
    return web.json_response({"assignments": len(store.assignments)})


async def identity_status(request: web.Request) -> web.Response:
    """Emulator-only: how many access tokens the Entra stand-in issued (refresh proof)."""
    identity = request.app.get(IDENTITY)
    if identity is None:
        raise web.HTTPNotFound(text="the emulator is not in Azure mode (--azure-mode)")
    return web.json_response(
        {"tokens_issued": identity.tokens_issued, "token_lifetime_s": identity.token_lifetime_s}
    )


ROUTES = [
    Route("PUT", "/_emulator/role", put_role),
    Route("GET", "/_emulator/identity", identity_status),
]
