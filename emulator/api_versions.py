"""Which api-versions the emulator serves, per resource provider, and ARM's answer to others.

The emulator serves the versions the installed SDKs pin (azure-mgmt-compute 39.0.0 →
2026-04-01, azure-mgmt-network 33.1.0 → 2026-03-01, azure-mgmt-chaos 2.0.0 → 2025-01-01),
Authorization's 2022-04-01 (what the harness's permissions check sends, fleet/permissions.py) and
Chaos Studio's 2023-11-01, whose published specification differs in status codes (targets and
capabilities answer 200 only); these are the versions whose specifications are vendored under
tests/contract/specs and checked there. Any other version is refused as ARM refuses it
(docs/azure-behaviour.md §6):

- empty or not a date: 400 `InvalidApiVersionParameter` "The api-version '{v}' is invalid. The
  supported versions are '{list}'." (ARM's text, e.g. Azure/azure-sdk-for-net#2276);
- a date the resource type does not serve: 400 `NoRegisteredProviderFound` "No registered
  resource provider found for location '{loc}' and API version '{v}' for type '{type}'. The
  supported api-versions are '{list}'. The supported locations are '{locs}'."
  (ARM's text, e.g. Azure/azure-cli#28496, MicrosoftDocs/azure-docs#62621).
"""

from __future__ import annotations

import re

from emulator.models.errors import InvalidApiVersionParameter, NoRegisteredProviderFound

SUPPORTED: dict[str, tuple[str, ...]] = {
    "microsoft.compute": ("2026-04-01",),
    "microsoft.network": ("2026-03-01",),
    "microsoft.chaos": ("2025-01-01", "2023-11-01"),
    "microsoft.authorization": ("2022-04-01",),
}
CHAOS_2023 = "2023-11-01"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(-[a-z]+)?$")


def provider_and_type(path: str) -> tuple[str, str] | None:
    """The innermost provider namespace of an ARM path and its resource type (names dropped):
    `…/Microsoft.Compute/virtualMachines/vm1/extensions/x` → (`Microsoft.Compute`,
    `virtualMachines/extensions`)."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return None
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    if at + 1 >= len(parts):
        return None
    rest = parts[at + 2 :]
    return parts[at + 1], "/".join(rest[0::2])


def check(path: str, version: str, location: str) -> None:
    """Raise ARM's error when `version` is not one the path's provider serves here."""
    found = provider_and_type(path)
    if found is None:
        return
    namespace, resource_type = found
    supported = SUPPORTED.get(namespace.lower())
    if supported is None or version in supported:
        return
    listed = ", ".join(supported)
    if not _DATE.match(version):
        raise InvalidApiVersionParameter(
            f"The api-version '{version}' is invalid. The supported versions are '{listed}'."
        )
    raise NoRegisteredProviderFound(
        f"No registered resource provider found for location '{location}' and API version "
        f"'{version}' for type '{resource_type}'. The supported api-versions are '{listed}'. "
        f"The supported locations are '{location}'."
    )
