"""Every Microsoft.Authorization route the emulator serves, called over raw HTTP in Azure mode
(a real client-credentials token from its Entra stand-in) and checked against Authorization's
2022-04-01 specification: answers to an Owner, a Reader's refusal, a caller without a token,
bad bodies and unknown role definitions. Used by test_contract.py, whose coverage test counts
these checks."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from emulator.launcher import RunningEmulator
from tests.contract.spec import Contract

AUTHZ_VERSION = "2022-04-01"  # fleet/permissions.py PERMISSIONS_API_VERSION
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"  # built-in role ids (Azure's)
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ARM_SCOPE = "https://management.azure.com/.default"
AZURE_MODE_ARGS = ["--azure-mode", "--role", "Owner", "--role-scope", "subscription"]


def signed_in_client(emulator: RunningEmulator) -> httpx.Client:
    """An HTTPS client carrying a token the Entra stand-in issued for the app's secret."""
    from azure.identity import ClientSecretCredential

    info = emulator.info
    credential = ClientSecretCredential(
        str(info.tenant_id), str(info.client_id), str(info.client_secret),
        authority=info.authority_host, disable_instance_discovery=True,
        connection_verify=info.ca_file,
    )  # fmt: skip
    token = credential.get_token(ARM_SCOPE).token
    return httpx.Client(
        headers={"Authorization": f"Bearer {token}"}, verify=info.verify, timeout=30
    )


class AuthzCalls:
    """URLs of the emulator's subscription, resource group and scale set, and checked calls."""

    def __init__(self, emulator: RunningEmulator, http: httpx.Client, contract: Contract) -> None:
        info = emulator.info
        self.emulator, self.http, self.contract = emulator, http, contract
        self.sub_id = f"/subscriptions/{info.subscription_id}"
        self.rg_id = f"{self.sub_id}/resourceGroups/{info.resource_group}"
        self.sub = f"{info.arm_url}{self.sub_id}/providers/Microsoft.Authorization"
        self.rg = f"{info.arm_url}{self.rg_id}/providers/Microsoft.Authorization"
        # a top-level resource as the SDK writes it: the empty parentResourcePath gives `//`
        resource = f"Microsoft.Compute//virtualMachineScaleSets/{info.scale_set}"
        self.resource = f"{info.arm_url}{self.rg_id}/providers/{resource}"
        self.resource += "/providers/Microsoft.Authorization"

    def call(self, method: str, url: str, expect: int, **kwargs: Any) -> Any:
        response = self.http.request(method, url, params={"api-version": AUTHZ_VERSION}, **kwargs)
        self.contract.check(response)
        assert response.status_code == expect, (
            f"{method} {url}: {response.status_code} {response.text[:300]}"
        )
        return response.json()

    def error(self, method: str, url: str, status: int, code: str, **kwargs: Any) -> str:
        body = self.call(method, url, status, **kwargs)
        assert body["error"]["code"] == code, body
        return str(body["error"]["message"])


def _assignment(definition_id: str, principal: str) -> dict[str, Any]:
    return {"properties": {"roleDefinitionId": definition_id, "principalId": principal}}


def exercise_authorization(emulator: RunningEmulator, contract: Contract) -> None:
    """Each route at least once, answers checked against the specification and asserted."""
    with signed_in_client(emulator) as http:
        a = AuthzCalls(emulator, http, contract)
        _permissions(a)
        _role_definitions(a)
        _role_assignments(a)
        _refusals(a)


def _permissions(a: AuthzCalls) -> None:
    everything = ["*"]
    assert [p["actions"] for p in a.call("GET", f"{a.rg}/permissions", 200)["value"]] == [
        everything
    ]
    on_resource = a.call("GET", f"{a.resource}/permissions", 200)["value"]
    assert [p["actions"] for p in on_resource] == [everything]
    # the specification lists permissions at a resource group or a resource only
    absent = a.http.get(f"{a.sub}/permissions", params={"api-version": AUTHZ_VERSION})
    assert (absent.status_code, absent.json()["error"]["code"]) == (404, "InvalidResourceType")
    other = a.http.get(f"{a.rg}/permissions", params={"api-version": "2015-07-01"})
    assert (other.status_code, other.json()["error"]["code"]) == (400, "NoRegisteredProviderFound")
    assert "'2022-04-01'" in other.json()["error"]["message"]


def _role_definitions(a: AuthzCalls) -> None:
    listed = a.call("GET", f"{a.sub}/roleDefinitions", 200)["value"]
    names = {d["properties"]["roleName"] for d in listed}
    assert {"Owner", "Contributor", "Reader"} <= names, names
    owner = a.call("GET", f"{a.sub}/roleDefinitions/{OWNER}", 200)
    assert owner["name"] == OWNER and owner["type"] == "Microsoft.Authorization/roleDefinitions"
    assert owner["id"] == f"{a.sub_id}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
    assert owner["properties"]["type"] == "BuiltInRole"
    missing = str(uuid.uuid4())
    message = a.error(
        "GET", f"{a.sub}/roleDefinitions/{missing}", 404, "RoleDefinitionDoesNotExist"
    )
    assert missing in message
    custom = str(uuid.uuid4())
    body = {"properties": {
        "roleName": "contract vm starter", "description": "contract test", "type": "CustomRole",
        "assignableScopes": [a.rg_id],
        "permissions": [{"actions": ["Microsoft.Compute/virtualMachines/start/action"]}],
    }}  # fmt: skip
    created = a.call("PUT", f"{a.sub}/roleDefinitions/{custom}", 201, json=body)
    assert created["name"] == custom
    assert created["properties"]["roleName"] == "contract vm starter"
    assert created["properties"]["assignableScopes"] == [a.rg_id]
    again = a.call("GET", f"{a.sub}/roleDefinitions/{custom}", 200)
    assert again["properties"]["permissions"][0]["actions"] == [
        "Microsoft.Compute/virtualMachines/start/action"
    ]


def _role_assignments(a: AuthzCalls) -> None:
    reader = f"{a.sub_id}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    on_sub, on_rg, principal = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    body = _assignment(reader, principal)
    made = a.call("PUT", f"{a.sub}/roleAssignments/{on_sub}", 201, json=body)
    assert made["id"] == f"{a.sub_id}/providers/Microsoft.Authorization/roleAssignments/{on_sub}"
    assert made["properties"]["scope"] == a.sub_id
    assert made["properties"]["roleDefinitionId"] == reader
    made = a.call("PUT", f"{a.rg}/roleAssignments/{on_rg}", 201, json=body)
    assert made["properties"]["scope"] == a.rg_id and made["name"] == on_rg
    # ARM's PUT is not idempotent: the same principal, role and scope again is a conflict
    message = a.error("PUT", f"{a.rg}/roleAssignments/{on_rg}", 409, "RoleAssignmentExists",
                      json=body)  # fmt: skip
    assert message == "The role assignment already exists."
    at_sub = {x["name"] for x in a.call("GET", f"{a.sub}/roleAssignments", 200)["value"]}
    assert {on_sub, on_rg} <= at_sub  # the subscription's, and those below it
    at_rg = {x["name"] for x in a.call("GET", f"{a.rg}/roleAssignments", 200)["value"]}
    assert {on_sub, on_rg} <= at_rg  # the group's, and those that apply to it from above
    a.error("PUT", f"{a.rg}/roleAssignments/{uuid.uuid4()}", 400, "InvalidRequestContent",
            json={"properties": {"roleDefinitionId": reader}})  # fmt: skip
    a.error("PUT", f"{a.rg}/roleAssignments/{uuid.uuid4()}", 400, "InvalidRequestContent",
            content=b"not json", headers={"Content-Type": "application/json"})  # fmt: skip
    unknown = f"{a.sub_id}/providers/Microsoft.Authorization/roleDefinitions/{uuid.uuid4()}"
    a.error("PUT", f"{a.rg}/roleAssignments/{uuid.uuid4()}", 404, "RoleDefinitionDoesNotExist",
            json=_assignment(unknown, principal))  # fmt: skip


def _refusals(a: AuthzCalls) -> None:
    """A Reader may read but not assign; a caller without a token is refused with ARM's 401."""
    reader = f"{a.sub_id}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    a.emulator.client.set_role("Reader", scope="subscription")
    try:
        body = _assignment(reader, str(uuid.uuid4()))
        message = a.error("PUT", f"{a.rg}/roleAssignments/{uuid.uuid4()}", 403,
                          "AuthorizationFailed", json=body)  # fmt: skip
        assert "Microsoft.Authorization/roleAssignments/write" in message
        a.error("PUT", f"{a.sub}/roleDefinitions/{uuid.uuid4()}", 403, "AuthorizationFailed",
                json={"properties": {"roleName": "x"}})  # fmt: skip
        mine = a.call("GET", f"{a.rg}/permissions", 200)["value"]
        assert [p["actions"] for p in mine] == [["*/read"]]
    finally:
        a.emulator.client.set_role("Owner", scope="subscription")
    anonymous = httpx.get(f"{a.rg}/roleAssignments", params={"api-version": AUTHZ_VERSION},
                          verify=a.emulator.info.verify)  # fmt: skip
    a.contract.check(anonymous)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
