"""Role-based access in the emulator (Azure mode): role definitions, role assignments at
subscription, resource group or resource scope, and the check ARM makes on every call.

A caller may perform an action at a scope when one of its assignments is at that scope or above
it and the assigned role's `actions` match the action (`*` is a wildcard, case-insensitive)
while none of its `notActions` do — Azure RBAC's rule for control-plane actions
(docs/azure-behaviour.md §11). Built-in Owner, Contributor and Reader are known by their ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ROLE_DEFINITIONS = "/providers/Microsoft.Authorization/roleDefinitions"
ROLE_ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"

BUILT_IN: dict[str, tuple[str, list[str], list[str]]] = {
    # id: (roleName, actions, notActions) — Azure's built-in roles
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": ("Owner", ["*"], []),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": (
        "Contributor",
        ["*"],
        [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
        ],
    ),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", ["*/read"], []),
}


def matches(pattern: str, action: str) -> bool:
    """Azure's action wildcard: `*` matches any run of characters; case does not matter."""
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, action, flags=re.IGNORECASE) is not None


def within(scope: str, assigned: str) -> bool:
    """Whether `scope` is `assigned` or below it (whole path segments, any case)."""
    a, s = assigned.rstrip("/").lower(), scope.rstrip("/").lower()
    return s == a or s.startswith(a + "/") or a == ""


@dataclass
class RoleDefinition:
    name: str  # the role definition's GUID
    role_name: str
    actions: list[str]
    not_actions: list[str] = field(default_factory=list)
    assignable_scopes: list[str] = field(default_factory=lambda: ["/"])
    description: str = ""
    role_type: str = "CustomRole"

    def permits(self, action: str) -> bool:
        return any(matches(p, action) for p in self.actions) and not any(
            matches(p, action) for p in self.not_actions
        )

    def to_json(self, subscription_id: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{subscription_id}{ROLE_DEFINITIONS}/{self.name}",
            "name": self.name,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.role_name,
                "type": self.role_type,
                "description": self.description,
                "assignableScopes": self.assignable_scopes,
                "permissions": [
                    {"actions": self.actions, "notActions": self.not_actions,
                     "dataActions": [], "notDataActions": []}
                ],
            },
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any], name: str | None = None) -> RoleDefinition:
        """Azure CLI's custom-role file (`Name`, `Actions`, `NotActions`, `AssignableScopes`)
        or ARM's `properties` shape."""
        props = data.get("properties")
        if isinstance(props, Mapping):
            perms = (props.get("permissions") or [{}])[0]
            return cls(
                name=name or str(data.get("name") or uuid.uuid4()),
                role_name=str(props.get("roleName", "custom role")),
                actions=list(perms.get("actions", [])),
                not_actions=list(perms.get("notActions", [])),
                assignable_scopes=list(props.get("assignableScopes", ["/"])),
                description=str(props.get("description", "")),
            )
        get = {str(k).lower(): v for k, v in data.items()}.get
        return cls(
            name=name or str(get("id") or uuid.uuid4()),
            role_name=str(get("name", "custom role")),
            actions=list(get("actions", [])),
            not_actions=list(get("notactions", [])),
            assignable_scopes=list(get("assignablescopes", ["/"])),
            description=str(get("description", "")),
        )


@dataclass
class RoleAssignment:
    name: str
    scope: str
    role_definition: str  # the definition's GUID
    principal_id: str

    def to_json(self, subscription_id: str) -> dict[str, Any]:
        return {
            "id": f"{self.scope}{ROLE_ASSIGNMENTS}/{self.name}",
            "name": self.name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "scope": self.scope,
                "roleDefinitionId": f"/subscriptions/{subscription_id}{ROLE_DEFINITIONS}/"
                f"{self.role_definition}",
                "principalId": self.principal_id,
                "principalType": "ServicePrincipal",
            },
        }


class Authorization:
    """The role definitions and assignments of one emulator, and the access check."""

    def __init__(self, subscription_id: str) -> None:
        self.subscription_id = subscription_id
        self.definitions: dict[str, RoleDefinition] = {
            guid: RoleDefinition(guid, n, list(a), list(na), role_type="BuiltInRole")
            for guid, (n, a, na) in BUILT_IN.items()
        }
        self.assignments: dict[str, RoleAssignment] = {}

    def define(self, definition: RoleDefinition) -> RoleDefinition:
        self.definitions[definition.name] = definition
        return definition

    def by_role_name(self, role_name: str) -> RoleDefinition | None:
        return next(
            (d for d in self.definitions.values() if d.role_name.lower() == role_name.lower()),
            None,
        )

    def assign(self, principal_id: str, definition: str, scope: str) -> RoleAssignment:
        assignment = RoleAssignment(str(uuid.uuid4()), scope, definition, principal_id)
        self.assignments[assignment.name] = assignment
        return assignment

    def holds(self, principal_id: str, definition: str, scope: str) -> bool:
        """Whether an assignment of `definition` to the principal exists at exactly `scope`."""
        return any(
            a.principal_id == principal_id and a.role_definition == definition
            and a.scope.lower() == scope.lower()
            for a in self.assignments.values()
        )  # fmt: skip

    def assignments_of(self, principal_id: str, scope: str) -> list[RoleAssignment]:
        """The caller's assignments that apply at `scope` (at it or above it)."""
        return [
            a for a in self.assignments.values()
            if a.principal_id == principal_id and within(scope, a.scope)
        ]  # fmt: skip

    def roles_at(self, principal_id: str, scope: str) -> Iterable[RoleDefinition]:
        for assignment in self.assignments_of(principal_id, scope):
            definition = self.definitions.get(assignment.role_definition)
            if definition is not None:
                yield definition

    def allowed(self, principal_id: str, action: str, scope: str) -> bool:
        return any(role.permits(action) for role in self.roles_at(principal_id, scope))

    def permissions(self, principal_id: str, scope: str) -> list[dict[str, Any]]:
        """`Microsoft.Authorization/permissions`: one entry per role the caller has there."""
        return [
            {"actions": r.actions, "notActions": r.not_actions,
             "dataActions": [], "notDataActions": []}
            for r in self.roles_at(principal_id, scope)
        ]  # fmt: skip
