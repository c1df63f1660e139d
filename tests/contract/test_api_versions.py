"""emulator/api_versions.py: which provider and type a path names, and ARM's refusal texts."""

from __future__ import annotations

import pytest

from emulator.api_versions import check, provider_and_type
from emulator.models.errors import InvalidApiVersionParameter, NoRegisteredProviderFound

VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (VM, ("Microsoft.Compute", "virtualMachines")),
        (VM + "/extensions/x", ("Microsoft.Compute", "virtualMachines/extensions")),
        (VM + "/providers/Microsoft.Chaos/targets/t", ("Microsoft.Chaos", "targets")),
        (
            "/subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/1",
            ("Microsoft.Compute", "locations/operations"),
        ),
        ("/subscriptions/s/resourceGroups/rg", None),
    ],
)
def test_provider_and_type(path: str, expected: tuple[str, str] | None) -> None:
    assert provider_and_type(path) == expected


def test_served_versions_pass_and_others_get_arms_texts() -> None:
    check(VM, "2026-04-01", "eastus")
    check(VM + "/providers/Microsoft.Chaos/targets/t", "2023-11-01", "eastus")
    with pytest.raises(NoRegisteredProviderFound) as unknown:
        check(VM, "2024-07-01", "eastus")
    assert unknown.value.message == (
        "No registered resource provider found for location 'eastus' and API version "
        "'2024-07-01' for type 'virtualMachines'. The supported api-versions are '2026-04-01'. "
        "The supported locations are 'eastus'."
    )
    with pytest.raises(InvalidApiVersionParameter) as malformed:
        check(VM, "latest", "eastus")
    assert malformed.value.message == (
        "The api-version 'latest' is invalid. The supported versions are '2026-04-01'."
    )
