"""What ARM checks before it serves a call: the bearer token (Azure mode: signature, expiry,
audience, tenant) and the caller's role-based access to the route's action at its scope.

Refusals are worded as Azure words them — the 401 codes `AuthenticationFailed`,
`InvalidAuthenticationToken`, `ExpiredAuthenticationToken`,
`InvalidAuthenticationTokenAudience`, `InvalidAuthenticationTokenTenant` with a
`WWW-Authenticate: Bearer authorization_uri=…, error="invalid_token", error_description=…`
header, and the 403 `AuthorizationFailed` naming the action and scope
(docs/azure-behaviour.md §10, §11). Outside Azure mode only the header's presence is checked.
"""

from __future__ import annotations

import datetime as dt
import time

from aiohttp import web

from emulator.identity.actions import action_for, scope_for
from emulator.identity.rbac import matches
from emulator.identity.state import AUTHORIZATION, IDENTITY
from emulator.identity.tokens import ISSUER_FORMAT, Identity, TokenInvalid
from emulator.models.errors import (
    ArmError,
    AuthenticationFailed,
    AuthorizationFailed,
    ExpiredAuthenticationToken,
    InvalidAuthenticationToken,
    InvalidAuthenticationTokenAudience,
    InvalidAuthenticationTokenTenant,
)

ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)
# Azure tolerates minutes of clock skew; a few seconds here absorb a token that expires while
# its request is in flight, and short lifetimes still prove that clients refresh.
CLOCK_SKEW_S = 5.0
# Not checked against roles: anyone signed in may ask what they may do (the permissions API),
# and the status of a long-running operation is read by whoever started it — a principal with
# a role on one resource group polls the subscription-level operation URLs its calls return.
UNCHECKED_ACTIONS = (
    "Microsoft.Authorization/permissions/read",
    "*/locations/operations/read",
    "*/locations/operationResults/read",
    "*/locations/operationStatuses/read",
)


class Refused(Exception):
    """An ARM refusal and the headers it is answered with."""

    def __init__(self, error: ArmError, headers: dict[str, str] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers or {}


def _net_time(epoch: float) -> str:
    """ARM's .NET rendering of a UTC time: '6/15/2026 8:22:51 AM'."""
    d = dt.datetime.fromtimestamp(epoch, dt.UTC)
    hour = d.hour % 12 or 12
    return f"{d.month}/{d.day}/{d.year} {hour}:{d.minute:02d}:{d.second:02d} {d:%p}"


def _challenge(identity: Identity | None, error: ArmError) -> Refused:
    authority = (identity.authority if identity else "https://login.windows.net") + "/"
    description = error.message.replace('"', "'")
    header = (
        f'Bearer authorization_uri="{authority}", error="invalid_token", '
        f'error_description="{description}"'
    )
    return Refused(error, {"WWW-Authenticate": header})


def _bearer(request: web.Request, identity: Identity | None) -> str:
    auth = request.headers.get("Authorization")
    if not auth:
        raise _challenge(
            identity,
            AuthenticationFailed("Authentication failed. The 'Authorization' header is missing."),
        )
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _challenge(
            identity,
            AuthenticationFailed(
                "Authentication failed. The 'Authorization' header is provided in an invalid "
                "format."
            ),
        )
    return token.strip()


def _audiences(identity: Identity) -> tuple[str, ...]:
    """Azure's ARM audiences, and this emulator's own endpoint (its stand-in for the cloud's
    Resource Manager URL, which `--arm-url` derives the scope from)."""
    return (*ARM_AUDIENCES, identity.authority + "/", identity.authority)


def principal_of(request: web.Request) -> str | None:
    """The caller's object id (Azure mode), None outside it; raises Refused when ARM would."""
    identity = request.app.get(IDENTITY)
    token = _bearer(request, identity)
    if identity is None:
        return None
    try:
        claims = identity.read(token)
    except TokenInvalid:
        raise _challenge(
            identity, InvalidAuthenticationToken("The access token is invalid.")
        ) from None
    now = time.time()
    if claims.get("exp", 0) + CLOCK_SKEW_S <= now:
        raise _challenge(
            identity,
            ExpiredAuthenticationToken(
                f"The access token expiry UTC time '{_net_time(claims.get('exp', 0))}' is "
                f"earlier than current UTC time '{_net_time(now)}'."
            ),
        )
    audiences = _audiences(identity)
    if claims.get("aud") not in audiences:
        allowed = ",".join(f"'{a}'" for a in audiences)
        raise _challenge(
            identity,
            InvalidAuthenticationTokenAudience(
                f"The access token has been obtained for wrong audience or resource "
                f"'{claims.get('aud')}'. It should exactly match with one of the allowed "
                f"audiences {allowed}."
            ),
        )
    home = ISSUER_FORMAT.format(tenant=identity.tenant_id)
    if claims.get("iss") != home:
        raise _challenge(
            identity,
            InvalidAuthenticationTokenTenant(
                f"The access token is from the wrong issuer '{claims.get('iss')}'. It must "
                f"match the tenant '{home}' associated with this subscription. Please use the "
                f"authority (URL) '{identity.authority}/{identity.tenant_id}' to get the "
                "token. Note, if the subscription is transferred to another tenant there is "
                "no impact to the services, but information about new tenant could take time "
                "to propagate (up to an hour). If you just transferred your subscription and "
                "see this error message, please try back later."
            ),
        )
    return str(claims.get("oid", ""))


def authorize(request: web.Request, principal: str | None) -> None:
    """Raise Refused (403 AuthorizationFailed) unless the caller's roles permit the action."""
    authorization = request.app.get(AUTHORIZATION)
    if authorization is None or principal is None:
        return
    action = action_for(request.method, request.path)
    if action is None or any(matches(p, action) for p in UNCHECKED_ACTIONS):
        return
    scope = scope_for(request.method, request.path)
    if not authorization.allowed(principal, action, scope):
        raise Refused(
            AuthorizationFailed(
                f"The client '{principal}' with object id '{principal}' does not have "
                f"authorization to perform action '{action}' over scope '{scope}' or the scope "
                "is invalid. If access was recently granted, please refresh your credentials."
            )
        )


PRINCIPAL = "flexchaos.principal"  # the caller's object id, kept on the request


def check(request: web.Request) -> Refused | None:
    """The refusal ARM would answer this request with, or None to serve it (the caller's
    object id is then on the request, under PRINCIPAL)."""
    try:
        principal = principal_of(request)
        authorize(request, principal)
    except Refused as refused:
        return refused
    request[PRINCIPAL] = principal
    return None
