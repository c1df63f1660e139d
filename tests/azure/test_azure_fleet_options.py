"""`--fleet azure` pointed at another Resource Manager: the endpoint, the token's audience and,
for an emulator in Azure mode on the loopback, its clock. No process started."""

from __future__ import annotations

from fleet.target import FleetTarget
from flexchaos.fleet_spec import FleetSpec, open_fleet

AZURE = {"fleet": "azure", "subscription": "s", "resource_group": "rg", "scale_set": "ss"}


def test_public_cloud_by_default() -> None:
    with open_fleet(FleetSpec.parse(AZURE)) as fleet:
        assert fleet.target.endpoint.arm_url == "https://management.azure.com"
        assert fleet.target.endpoint.scope == "https://management.azure.com/.default"
        assert fleet.time_scale == 1.0


def test_another_endpoint_and_audience() -> None:
    spec = FleetSpec.parse(
        {**AZURE, "arm_url": "https://127.0.0.1:8443", "arm_audience": "https://management.azure.com",
         "time_scale": "0.1"}
    )  # fmt: skip
    with open_fleet(spec) as fleet:
        endpoint = fleet.target.endpoint
        assert endpoint.arm_url == "https://127.0.0.1:8443" and not endpoint.is_emulator
        assert endpoint.scope == "https://management.azure.com/.default"
        assert endpoint.client_kwargs()["credential_scopes"] == [endpoint.scope]
        assert fleet.time_scale == 0.1  # an emulator in Azure mode keeps its clock
        assert fleet.target.kind == "azure"  # the allow tag is required, as on Azure


def test_a_sovereign_cloud_keeps_real_time_and_its_own_audience() -> None:
    spec = FleetSpec.parse({**AZURE, "arm_url": "https://management.usgovcloudapi.net"})
    with open_fleet(spec) as fleet:
        assert fleet.time_scale == 1.0
        assert fleet.target.endpoint.scope == "https://management.usgovcloudapi.net/.default"


def test_the_journal_keeps_the_audience() -> None:
    target = FleetTarget.azure("s", "rg", "ss", arm_url="https://127.0.0.1:1", audience="https://a")
    assert FleetTarget.from_json(target.to_json()).endpoint.scope == "https://a/.default"
