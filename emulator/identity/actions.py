"""Which Azure RBAC action an ARM request performs, and at which scope.

ARM derives the action from the request's resource type and method: after the last
`providers/{namespace}`, the resource types are every other segment (the others are names);
GET is `…/read`, PUT and PATCH `…/write`, DELETE `…/delete`, and a POST to a resource is the
action named by its last segment, `…/{name}/action` — e.g. `POST …/virtualMachines/vm1/powerOff`
is `Microsoft.Compute/virtualMachines/powerOff/action`. The scope is the resource the action is
on: the path, without the action's own segment for a POST (docs/azure-behaviour.md §11).
"""

from __future__ import annotations

VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def action_for(method: str, path: str) -> str | None:
    """The action string of a request to `path`; None when the path names no provider."""
    parts = _segments(path)
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return None
    last = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[last + 1 :]
    if not rest:
        return None
    namespace, names = rest[0], rest[1:]
    types = names[0::2]
    if method.upper() == "POST":  # the last type is the action's name
        return "/".join([namespace, *types, "action"]) if types else None
    verb = VERBS.get(method.upper())
    if verb is None or not types:
        return None
    return "/".join([namespace, *types, verb])


def scope_for(method: str, path: str) -> str:
    """The scope the action is checked at: the resource, or the collection for a listing."""
    parts = _segments(path)
    if method.upper() == "POST" and len(parts) > 1:
        parts = parts[:-1]
    return "/" + "/".join(parts)
