"""The Microsoft Entra ID stand-in's keys, app registration and tokens (Azure mode).

One tenant owns the subscription; one app registration (client id, a client secret, a
federated credential) has a service principal in it. Tokens are RS256 JWTs shaped like the
v1 access tokens Entra issues for Resource Manager (`iss` https://sts.windows.net/{tid}/,
`aud` the resource, `appid`, `oid`, `tid`, `exp`), signed with a key published in the JWKS.
The same key signs federated assertions the emulator hands out as an OIDC issuer of its own
(what GitHub Actions or Azure Pipelines would be), so no other service is needed.
docs/azure-behaviour.md §10.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000f1e0"
DEFAULT_CLIENT = "0f1e0c4a-0000-4000-8000-0000000c11e7"
DEFAULT_SUBJECT = "repo:example/flexchaos-gameday:environment:chaos"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
ISSUER_FORMAT = "https://sts.windows.net/{tenant}/"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
FEDERATED_TOKEN_LIFETIME_S = 24 * 3600


class TokenInvalid(Exception):
    """A bearer token that cannot be read or whose signature fails."""


@dataclass
class Identity:
    """Keys, the app registration and token lifetimes of one emulator in Azure mode."""

    tenant_id: str = DEFAULT_TENANT
    client_id: str = DEFAULT_CLIENT
    token_lifetime_s: float = 3600.0
    federated_subject: str = DEFAULT_SUBJECT
    authority: str = ""  # https://127.0.0.1:PORT, set once listening
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tokens_issued: int = 0
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(8))

    # -- what the stand-in publishes ------------------------------------------------------------
    @property
    def federated_issuer(self) -> str:
        return f"{self.authority}/_emulator/oidc"

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.authority}/{tenant}"
        return {
            "issuer": f"{self.authority}/{tenant}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "flexchaos.emulator",
        }

    def knows_tenant(self, tenant: str) -> bool:
        """The app is multi-tenant: any tenant id (a GUID) has its service principal too, so a
        wrong tenant gets a token that ARM then refuses, as Azure does."""
        return bool(GUID.match(tenant))

    # -- tokens ---------------------------------------------------------------------------------
    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def access_token(self, tenant: str, resource: str) -> tuple[str, int]:
        """An access token for `resource` in `tenant`, and its lifetime in whole seconds."""
        now = int(time.time())
        lifetime = int(self.token_lifetime_s)
        claims = {
            "aud": resource,
            "iss": ISSUER_FORMAT.format(tenant=tenant),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": self.client_id,
            "appidacr": "2",
            "idtyp": "app",
            "oid": self.object_id,
            "sub": self.object_id,
            "tid": tenant,
            "ver": "1.0",
        }
        self.tokens_issued += 1
        return self.sign(claims), lifetime

    def federated_token(
        self,
        subject: str | None = None,
        lifetime_s: float = FEDERATED_TOKEN_LIFETIME_S,
        audience: str = FEDERATED_AUDIENCE,
    ) -> str:
        """An OIDC token from the emulator's own issuer, as a pipeline's IdP would hand out."""
        now = int(time.time())
        return self.sign(
            {
                "iss": self.federated_issuer,
                "sub": subject or self.federated_subject,
                "aud": audience,
                "iat": now,
                "nbf": now,
                "exp": now + int(lifetime_s),
            }
        )

    def read(self, token: str) -> dict[str, Any]:
        """The claims of a token signed by this stand-in; TokenInvalid otherwise (expiry and
        audience are the caller's checks: ARM words each one differently)."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != self.kid or header.get("alg") != "RS256":
                raise TokenInvalid("the token was not signed by a known key")
            return jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(str(exc)) from None
