"""Azure SDK clients for a fleet: the same classes against Azure or the emulator.

Against the emulator the clients get its `arm_url` as base_url, a static bearer-token policy
(the default policy refuses to send a token over plain http), a short polling interval and the
emulator's compressed polling hint; against Azure they get DefaultAzureCredential and the
cloud's Resource Manager endpoint (any other, e.g. an emulator in Azure mode, with `--arm-url`,
and its token audience with `--arm-audience`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy

from fleet.call_log import CallLog, CallLogPolicy

if TYPE_CHECKING:  # imported on first use: each SDK takes a noticeable time to import
    from azure.mgmt.chaos import ChaosManagementClient
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.network import NetworkManagementClient

AZURE_PUBLIC_ARM = "https://management.azure.com"
EMULATOR_POLLING_INTERVAL_S = 0.1


class StaticTokenCredential:
    """A TokenCredential that always returns the same token (the emulator accepts any)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


class StaticBearerPolicy(SansIOHTTPPolicy):
    """Sets `Authorization: Bearer <token>` on every request, http included."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def on_request(self, request: Any) -> None:
        request.http_request.headers["Authorization"] = f"Bearer {self._token}"


class EmulatorPollingHint(SansIOHTTPPolicy):
    """Lets the SDK poll the emulator at its compressed pace.

    The emulator's in-progress answers carry ARM's integer `Retry-After` (>= 1 s, as Azure
    sends it) and `retry-after-ms` (its scaled wait). azure-core reads Retry-After first, so
    on a successful (2xx) answer that has both, this drops Retry-After and the SDK waits what
    retry-after-ms says. Error answers (429, 5xx) are left alone: their Retry-After is the
    retry policy's. Against Azure this policy is not installed.
    """

    def on_response(self, request: Any, response: Any) -> None:
        http = response.http_response
        headers = http.headers
        if 200 <= http.status_code < 300 and "retry-after-ms" in headers:
            headers.pop("Retry-After", None)


class ScaledRetryPolicy(RetryPolicy):
    """The SDK's retry policy, waiting what `retry-after-ms` says when an answer carries it.

    azure-core reads the integer `Retry-After` first, so a throttled answer costs at least one
    wall second; the emulator also sends `retry-after-ms`, its Retry-After scaled to its clock
    (50 ms for one platform second at 0.05). Honouring it keeps a retried call as long, in
    platform seconds, as on Azure — the rehearsal the platform-time buckets are built for.
    Used against the emulator only; against Azure the SDK's own policy stands."""

    def get_retry_after(self, response: Any) -> float | None:
        scaled = response.http_response.headers.get("retry-after-ms")
        if scaled:
            try:
                return max(0.0, float(scaled) / 1000.0)
            except ValueError:
                pass
        return super().get_retry_after(response)


@dataclass(frozen=True)
class Endpoint:
    """Where Resource Manager is and how to authenticate to it."""

    arm_url: str = AZURE_PUBLIC_ARM
    emulator_token: str | None = None  # set: a static token over http (the emulator)
    audience: str | None = None  # the token's resource; None: the arm_url (Azure's convention)

    @property
    def is_emulator(self) -> bool:
        return self.emulator_token is not None

    @property
    def scope(self) -> str:
        """The scope DefaultAzureCredential asks a token for: '<audience>/.default'."""
        return (self.audience or self.arm_url).rstrip("/") + "/.default"

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"base_url": self.arm_url}
        if self.emulator_token is not None:
            kwargs["authentication_policy"] = StaticBearerPolicy(self.emulator_token)
            kwargs["polling_interval"] = EMULATOR_POLLING_INTERVAL_S
            kwargs["per_call_policies"] = [EmulatorPollingHint()]
            kwargs["retry_policy"] = ScaledRetryPolicy()
        else:
            kwargs["credential_scopes"] = [self.scope]
        return kwargs

    def credential(self) -> Any:
        if self.emulator_token is not None:
            return StaticTokenCredential(self.emulator_token)
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()


class Clients:
    """The three management clients for one subscription, built on first use."""

    def __init__(self, endpoint: Endpoint, subscription_id: str) -> None:
        self.endpoint = endpoint
        self.subscription_id = subscription_id
        self._credential = endpoint.credential()
        self.call_log = CallLog()  # every attempt's answer, retries and budgets included

    def _kwargs(self) -> dict[str, Any]:
        return {**self.endpoint.client_kwargs(), "custom_hook_policy": CallLogPolicy(self.call_log)}

    @property
    def credential(self) -> Any:
        """The TokenCredential every client signs in with (DefaultAzureCredential on Azure)."""
        return self._credential

    @cached_property
    def compute(self) -> ComputeManagementClient:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self._credential, self.subscription_id, **self._kwargs())

    @cached_property
    def network(self) -> NetworkManagementClient:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self._credential, self.subscription_id, **self._kwargs())

    @cached_property
    def chaos(self) -> ChaosManagementClient:
        from azure.mgmt.chaos import ChaosManagementClient

        return ChaosManagementClient(self._credential, self.subscription_id, **self._kwargs())
