"""Azure's published REST specifications (the subset vendored in tests/contract/specs) as a
checker of the emulator's raw HTTP answers.

`Contract.check(response)` finds the operation the request addressed (by method, path and the
api-version it carried), then asserts what the specification declares for it: the status code
is one the operation declares for that api-version (an error status only through `default`),
the body validates against the declared schema (jsonschema, $ref resolved across the vendored
files), the declared response headers are present (integers where declared integer), an error
body is ARM's `{"error": {"code", "message"}}`, and every answer carries the ids ARM always
sends (`x-ms-request-id`, `x-ms-correlation-request-id`). Each check is recorded, so a test
can list what was covered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"
# api-version → the vendored files that describe it (tests/contract/specs/SOURCE.md)
BY_VERSION: dict[str, tuple[str, ...]] = {
    "2026-04-01": ("compute/stable/2026-04-01/ComputeRP.json",),
    "2026-03-01": ("network/stable/2026-03-01/loadBalancer.json",),
    "2025-01-01": ("chaos/stable/2025-01-01/openapi.json",),
    "2023-11-01": ("chaos/stable/2023-11-01/targets-capabilities.json",),
    "2022-04-01": (
        "authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json",
        "authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json",
    ),
}
ARM_RPC = "arm-rpc/async-operations.json"  # ARM's status monitor and Location contract
ALWAYS_HEADERS = ("x-ms-request-id", "x-ms-correlation-request-id")
MONITOR = "?monitor=true"


@dataclass(frozen=True)
class SpecOperation:
    """One operation of one vendored file: where it is and what it declares."""

    file: str
    path: str  # the specification's path template (may end in ?monitor=true)
    method: str
    body: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.body.get("operationId", f"{self.method.upper()} {self.path}"))

    @property
    def uri(self) -> str:
        return (SPECS / self.file).resolve().as_uri()


# Path parameters the specifications mark `x-ms-skip-url-encoding` that span segments: an ARM
# scope (`subscriptions/{id}[/resourceGroups/{name}[/providers/…]]`) and a resource's parent
# path, which is empty for a top-level resource (the SDK then sends `{namespace}//{type}/{name}`).
MULTI_SEGMENT = {"scope": ".+", "parentResourcePath": ".*"}


def _parameter(match: re.Match[str]) -> str:
    return MULTI_SEGMENT.get(match.group(1), "[^/]+")


def template_regex(template: str) -> re.Pattern[str]:
    path = template.split("?")[0]
    escaped = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
    pattern = re.sub(r"\{([^/}]+)\}", _parameter, escaped)
    return re.compile(f"^{pattern}$", re.IGNORECASE)


def spans_segments(template: str) -> bool:
    """Whether a specification path has a parameter that spans segments (MULTI_SEGMENT)."""
    return any(f"{{{name}}}" in template for name in MULTI_SEGMENT)


def _load(relative: str) -> dict[str, Any]:
    return json.loads((SPECS / relative).read_text())


@dataclass
class Contract:
    """The vendored specifications, and what has been checked against them."""

    checked: set[tuple[str, str, str]] = field(default_factory=set)  # (file, METHOD, path)

    def __post_init__(self) -> None:
        files = sorted(p.relative_to(SPECS).as_posix() for p in SPECS.rglob("*.json"))
        self._docs = {f: _load(f) for f in files}
        self._registry: Registry[Any] = Registry().with_resources(
            ((SPECS / f).resolve().as_uri(), Resource(doc, DRAFT4)) for f, doc in self._docs.items()
        )

    def operations(self, files: tuple[str, ...]) -> list[SpecOperation]:
        found = []
        for f in files:
            for path, methods in self._docs[f]["paths"].items():
                for method, body in methods.items():
                    found.append(SpecOperation(f, path, method.lower(), body))
        return found

    def all_operations(self) -> list[SpecOperation]:
        every = tuple(f for files in BY_VERSION.values() for f in files)
        return self.operations((*every, ARM_RPC))

    def find(self, method: str, url: httpx.URL) -> SpecOperation:
        """The operation a request addressed, in the files of the api-version it carried."""
        version = url.params.get("api-version", "")
        monitor = url.params.get("monitor", "").lower() == "true"
        candidates = self.operations((*BY_VERSION.get(version, ()), ARM_RPC))
        for op in candidates:
            if op.method != method.lower() or op.path.endswith(MONITOR) != monitor:
                continue
            if template_regex(op.path).match(url.path):
                return op
        raise AssertionError(
            f"no operation in the specification of api-version {version!r} for {method} {url.path}"
        )

    def validate(self, op: SpecOperation, schema_ref: str, body: Any, what: str) -> None:
        ref = urljoin(op.uri, schema_ref)
        validator = jsonschema.Draft4Validator({"$ref": ref}, registry=self._registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [
                f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
                for e in errors[:5]
            ]
            raise AssertionError(f"{what}: body does not match {schema_ref}:\n" + "\n".join(lines))

    def check_final_state(self, accepted: SpecOperation, final: httpx.Response) -> None:
        """A Location's final 200 against the accepted operation's final-state-schema (no
        body when it declares none)."""
        options = accepted.body.get("x-ms-long-running-operation-options", {})
        schema = options.get("final-state-schema")
        what = f"final result of {accepted.name}"
        if schema is None:
            assert not final.content, f"{what}: a body where the operation declares no result"
        else:
            self.validate(accepted, schema, final.json(), what)

    def check(self, response: httpx.Response) -> SpecOperation:
        """Assert the response is what the specification declares; return the operation."""
        request = response.request
        op = self.find(request.method, request.url)
        what = f"{op.name} ({op.file}) {request.method} {request.url.path} → {response.status_code}"
        for header in ALWAYS_HEADERS:
            assert response.headers.get(header), f"{what}: no {header} header"
        responses: dict[str, Any] = op.body["responses"]
        declared = responses.get(str(response.status_code))
        if declared is None:
            assert response.status_code >= 400 and "default" in responses, (
                f"{what}: status {response.status_code} is not declared "
                f"(declared: {sorted(k for k in responses if k != 'default')})"
            )
            declared = responses["default"]
        if response.status_code >= 400:
            error = response.json().get("error")
            assert isinstance(error, dict), f"{what}: error body without 'error'"
            assert isinstance(error.get("code"), str) and error["code"], f"{what}: no error.code"
            assert isinstance(error.get("message"), str), f"{what}: no error.message"
        for name, header in declared.get("headers", {}).items():
            if header.get("x-while") == "InProgress" and response.json().get("status") in (
                "Succeeded",
                "Failed",
                "Canceled",
            ):
                continue
            value = response.headers.get(name)
            assert value is not None, f"{what}: declared header {name} missing"
            if header.get("type") == "integer":
                assert re.fullmatch(r"\d+", value), f"{what}: {name} {value!r} is not an integer"
        schema = declared.get("schema")
        if schema is not None:
            self.validate(op, schema["$ref"], response.json(), what)
        elif declared.get("x-body") == "final-state":
            pass  # a Location's result: StrictLro checks it against the accepted operation
        else:
            assert not response.content, f"{what}: a body where the specification declares none"
        self.checked.add((op.file, op.method.upper(), op.path))
        return op
