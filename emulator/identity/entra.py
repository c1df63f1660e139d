"""The Microsoft Entra ID stand-in's routes (Azure mode): OpenID discovery, JWKS and the v2.0
token endpoint for the client-credentials grant, with a client secret or a federated client
assertion (what `WorkloadIdentityCredential` sends from `AZURE_FEDERATED_TOKEN_FILE`).

Refusals are Entra's: `{"error", "error_description": "AADSTS…: …", "error_codes": [...]}`
with HTTP 400/401 (docs/azure-behaviour.md §10). Outside Azure mode these routes answer 404.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from emulator.identity.state import IDENTITY
from emulator.identity.tokens import FEDERATED_AUDIENCE, Identity, TokenInvalid
from emulator.routing import Route

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _identity(request: web.Request) -> Identity:
    identity = request.app.get(IDENTITY)
    if identity is None:
        raise web.HTTPNotFound(text="the emulator is not in Azure mode (--azure-mode)")
    return identity


def _entra_error(status: int, error: str, code: int, message: str) -> web.Response:
    trace = str(uuid.uuid4())
    return web.json_response(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {message}\r\nTrace ID: {trace}",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
    )


async def openid_configuration(request: web.Request) -> web.Response:
    identity = _identity(request)
    tenant = request.match_info["tenant"]
    if not identity.knows_tenant(tenant):
        return _tenant_not_found(tenant)
    return web.json_response(identity.openid_configuration(tenant))


async def keys(request: web.Request) -> web.Response:
    return web.json_response(_identity(request).jwks())


async def federated_issuer_configuration(request: web.Request) -> web.Response:
    identity = _identity(request)
    return web.json_response(
        {
            "issuer": identity.federated_issuer,
            "jwks_uri": f"{identity.authority}/_emulator/oidc/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    )


def _tenant_not_found(tenant: str) -> web.Response:
    return _entra_error(
        400, "invalid_request", 90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )  # fmt: skip


def _check_assertion(identity: Identity, assertion: str) -> web.Response | None:
    """A federated assertion must come from the registered issuer and subject, for the token
    exchange audience, and be within its valid time range."""
    try:
        claims = identity.read(assertion)
    except TokenInvalid as exc:
        return _entra_error(
            401, "invalid_client", 700027,
            f"The certificate with identifier used to sign the client assertion is not "
            f"registered on application. ({exc})",
        )  # fmt: skip
    now = time.time()
    if not claims.get("nbf", 0) - 300 <= now < claims.get("exp", 0):
        return _entra_error(
            400, "invalid_client", 700024,
            f"Client assertion is not within its valid time range. Current time: "
            f"{_utc(now)}, assertion valid from {_utc(claims.get('nbf', 0))}, expiry time of "
            f"assertion {_utc(claims.get('exp', 0))}.",
        )  # fmt: skip
    record = (identity.federated_issuer, identity.federated_subject, FEDERATED_AUDIENCE)
    presented = (claims.get("iss"), claims.get("sub"), claims.get("aud"))
    if presented[0] == record[0] and presented[2] == record[2] and presented[1] != record[1]:
        return _entra_error(
            400, "invalid_request", 700213,
            f"No matching federated identity record found for presented assertion subject "
            f"'{presented[1]}'. Check your federated identity credential Subject, Audience and "
            "Issuer against the presented assertion.",
        )  # fmt: skip
    if presented != record:
        return _entra_error(
            400, "invalid_request", 70021,
            f"No matching federated identity record found for presented assertion. Assertion "
            f"Issuer: '{presented[0]}'. Assertion Subject: '{presented[1]}'. Assertion "
            f"Audience: '{presented[2]}'.",
        )  # fmt: skip
    return None


def _utc(epoch: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(epoch))


def _resource(scope: str) -> str | None:
    """The resource of a v2.0 `.default` scope: 'https://management.azure.com/.default' →
    'https://management.azure.com'."""
    first = scope.split()[0] if scope.split() else ""
    return first[: -len("/.default")] if first.endswith("/.default") else None


async def token(request: web.Request) -> web.Response:
    identity = _identity(request)
    tenant = request.match_info["tenant"]
    if not identity.knows_tenant(tenant):
        return _tenant_not_found(tenant)
    form: Any = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _entra_error(
            400, "unsupported_grant_type", 70003,
            "The app requested an unsupported grant type; this stand-in serves "
            "client_credentials only.",
        )  # fmt: skip
    client_id = form.get("client_id", "")
    if client_id != identity.client_id:
        return _entra_error(
            400, "unauthorized_client", 700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )  # fmt: skip
    if form.get("client_assertion_type") == ASSERTION_TYPE:
        refused = _check_assertion(identity, str(form.get("client_assertion", "")))
        if refused is not None:
            return refused
    elif form.get("client_secret") is not None:
        if form.get("client_secret") != identity.client_secret:
            return _entra_error(
                401, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{client_id}'.",
            )  # fmt: skip
    else:
        return _entra_error(
            401, "invalid_client", 7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )  # fmt: skip
    resource = _resource(str(form.get("scope", "")))
    if resource is None:
        return _entra_error(
            400, "invalid_scope", 1002012,
            f"The provided value for scope {form.get('scope', '')} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the "
            "resource identifier (application ID URI).",
        )  # fmt: skip
    access_token, lifetime = identity.access_token(tenant, resource)
    return web.json_response(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
    )


async def mint_federated_token(request: web.Request) -> web.Response:
    """Emulator-only: a federated token, as a pipeline's OIDC provider would hand one out.
    Body (all optional): {"subject", "lifetime_s", "audience"}."""
    identity = _identity(request)
    body: dict[str, Any] = await request.json() if request.can_read_body else {}
    issued = identity.federated_token(
        subject=body.get("subject"),
        lifetime_s=float(body.get("lifetime_s", 3600)),
        audience=str(body.get("audience", FEDERATED_AUDIENCE)),
    )
    return web.json_response({"token": issued})


ROUTES = [
    Route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
    Route("GET", "/{tenant}/discovery/v2.0/keys", keys),
    Route("POST", "/{tenant}/oauth2/v2.0/token", token),
    Route(
        "GET", "/_emulator/oidc/.well-known/openid-configuration", federated_issuer_configuration
    ),
    Route("GET", "/_emulator/oidc/keys", keys),
    Route("POST", "/_emulator/federated-token", mint_federated_token),
]
