"""The reference test fleet (reference-fleet/azuredeploy.json) and the emulator's default
topology describe the same fleet; the template is well formed; its app answers as the
emulator's VMs do.

The schema holds the properties flexchaos depends on, named as Azure's REST specifications name
them (azure-rest-api-specs: specification/compute/.../ComputeRP/stable/2024-07-01/
virtualMachineScaleSet.json for priorityMixPolicy, automaticRepairsPolicy and the VM profile;
specification/network/.../stable/2024-05-01/loadBalancer.json for the probe), closed
(`additionalProperties: false`) where a typo would silently deploy something else.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from emulator.models.extension import HEALTH_PUBLISHER, HEALTH_TYPE
from emulator.models.scale_set import HEALTH_EXTENSION_NAME
from emulator.topology import Topology
from fleet.target import DEFAULT_ALLOW_TAG
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
FLEET = REPO / "reference-fleet"
TEMPLATE: dict[str, Any] = json.loads((FLEET / "azuredeploy.json").read_text())
EXPRESSION = re.compile(r"^\[(?P<fn>variables|parameters)\('(?P<name>\w+)'\)(?P<path>(\.\w+)*)\]$")
SUB = re.compile(r"^\[sub\(variables\('(\w+)'\), variables\('(\w+)'\)\)\]$")

INT_OR_EXPR = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\[.*\]$"}]}
STR = {"type": "string"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["$schema", "contentVersion", "parameters", "variables", "resources", "outputs"],
    "properties": {
        "$schema": {"const": "https://schema.management.azure.com/schemas/2019-04-01/"
                    "deploymentTemplate.json#"},
        "contentVersion": {"pattern": r"^\d+\.\d+\.\d+\.\d+$"},
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "apiVersion", "name"],
                "properties": {
                    "type": {"pattern": r"^Microsoft\.\w+/\w+$"},
                    "apiVersion": {"pattern": r"^\d{4}-\d{2}-\d{2}$"},
                },
            },
        },
    },
}  # fmt: skip
SCALE_SET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["zones", "sku", "tags", "properties"],
    "properties": {
        "sku": {"required": ["name", "capacity"]},
        "properties": {
            "type": "object",
            "required": ["orchestrationMode", "platformFaultDomainCount", "priorityMixPolicy",
                         "automaticRepairsPolicy", "virtualMachineProfile"],
            "properties": {
                "orchestrationMode": {"enum": ["Flexible"]},
                "platformFaultDomainCount": {"const": 1},  # mixing Spot needs max spreading
                "priorityMixPolicy": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"baseRegularPriorityCount": INT_OR_EXPR,
                                   "regularPriorityPercentageAboveBase": INT_OR_EXPR},
                },
                "virtualMachineProfile": {
                    "type": "object",
                    "required": ["priority", "evictionPolicy", "osProfile", "storageProfile",
                                 "networkProfile", "extensionProfile"],
                    "properties": {
                        "priority": {"enum": ["Regular", "Low", "Spot"]},
                        "evictionPolicy": {"enum": ["Deallocate", "Delete"]},
                        "networkProfile": {"required": ["networkApiVersion",
                                                        "networkInterfaceConfigurations"]},
                    },
                },
            },
        },
    },
}  # fmt: skip
REPAIRS_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["enabled", "gracePeriod"],
    "properties": {"enabled": {"type": "boolean"}, "gracePeriod": {"pattern": r"^PT\d+M$"},
                   "repairAction": {"enum": ["Replace", "Restart", "Reimage"]}},
}  # fmt: skip
HEALTH_SETTINGS_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["protocol", "requestPath"],
    "properties": {"protocol": {"enum": ["http", "https", "tcp"]}, "port": {"type": "integer"},
                   "requestPath": STR,
                   "intervalInSeconds": {"type": "integer", "minimum": 5, "maximum": 60},
                   "numberOfProbes": {"type": "integer", "minimum": 1, "maximum": 24}},
}  # fmt: skip
PROBE_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["protocol", "port", "requestPath", "intervalInSeconds", "probeThreshold"],
    "properties": {"protocol": {"enum": ["Http", "Https", "Tcp"]}, "port": INT_OR_EXPR,
                   "requestPath": STR, "intervalInSeconds": INT_OR_EXPR,
                   "probeThreshold": INT_OR_EXPR},
}  # fmt: skip


def value(expr: Any) -> Any:
    """The value of the few ARM expressions the template uses for what this test compares:
    `[variables('x').a.b]`, `[parameters('p')]` (its default) and `[sub(variables, variables)]`."""
    if not isinstance(expr, str) or not expr.startswith("["):
        return expr
    if m := SUB.match(expr):
        return value(TEMPLATE["variables"][m[1]]) - value(TEMPLATE["variables"][m[2]])
    m = EXPRESSION.match(expr)
    assert m, f"the test cannot evaluate {expr!r}"
    if m["fn"] == "variables":
        found = TEMPLATE["variables"][m["name"]]
    else:
        found = TEMPLATE["parameters"][m["name"]]["defaultValue"]
    for key in filter(None, m["path"].split(".")):
        found = value(found)[key]
    return value(found)


def resource(kind: str) -> dict[str, Any]:
    (found,) = [r for r in TEMPLATE["resources"] if r["type"] == kind]
    return found


def scale_set() -> dict[str, Any]:
    return resource("Microsoft.Compute/virtualMachineScaleSets")


def health_extension() -> dict[str, Any]:
    (extension,) = scale_set()["properties"]["virtualMachineProfile"]["extensionProfile"][
        "extensions"
    ]
    return {"name": value(extension["name"]),
            **{k: value(v) for k, v in extension["properties"].items()}}  # fmt: skip


def probe() -> dict[str, Any]:
    (found,) = resource("Microsoft.Network/loadBalancers")["properties"]["probes"]
    return {k: value(v) for k, v in found["properties"].items()}


def test_the_template_is_well_formed() -> None:
    jsonschema.validate(TEMPLATE, SCHEMA)
    jsonschema.validate(scale_set(), SCALE_SET_SCHEMA)
    jsonschema.validate(value(scale_set()["properties"]["automaticRepairsPolicy"]), REPAIRS_SCHEMA)
    jsonschema.validate(health_extension()["settings"], HEALTH_SETTINGS_SCHEMA)
    jsonschema.validate(probe(), PROBE_SCHEMA)
    lb = resource("Microsoft.Network/loadBalancers")
    assert lb["sku"]["name"] == "Standard"
    (rule,) = lb["properties"]["loadBalancingRules"]
    assert "/probes/health'" in rule["properties"]["probe"]["id"]  # routed by the probe


def test_a_schema_typo_is_caught() -> None:
    """The closed schemas are what catch a misspelt property: prove that they do."""
    bad = {**probe(), "probeTreshold": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, PROBE_SCHEMA)


def test_template_and_emulator_topology_describe_the_same_fleet() -> None:
    default = Topology()
    s, props = default.scale_set, scale_set()["properties"]
    profile = props["virtualMachineProfile"]
    capacity = value(scale_set()["sku"]["capacity"])
    mix = {k: value(v) for k, v in props["priorityMixPolicy"].items()}
    # Spot Priority Mix: at or below the base count every VM is Regular; above it,
    # regularPriorityPercentageAboveBase % are Regular and the rest Spot.
    regular = mix["baseRegularPriorityCount"] + round(
        (capacity - mix["baseRegularPriorityCount"])
        * mix["regularPriorityPercentageAboveBase"]
        / 100
    )
    assert profile["priority"] == "Spot"
    assert {
        "name": value(scale_set()["name"]), "orchestration": props["orchestrationMode"],
        "vm count": capacity, "zones": value(scale_set()["zones"]),
        "size": value(scale_set()["sku"]["name"]), "spot count": capacity - regular,
        "eviction": profile["evictionPolicy"], "tags": value(scale_set()["tags"]),
    } == {
        "name": s.name, "orchestration": s.orchestration_mode, "vm count": s.vm_count,
        "zones": s.zones, "size": s.vm_size, "spot count": s.spot_count,
        "eviction": s.spot_eviction_policy, "tags": s.tags,
    }  # fmt: skip
    # the allow tag the guard checks on Azure is the one the template puts on the set
    assert value(scale_set()["tags"]) == dict([DEFAULT_ALLOW_TAG])

    repairs = value(props["automaticRepairsPolicy"])
    r = default.automatic_repairs
    assert (repairs["enabled"], repairs["gracePeriod"], repairs["repairAction"]) == (
        r.enabled, r.grace_period, r.repair_action
    )  # fmt: skip

    h, extension = default.health_extension, health_extension()
    assert h.enabled and (extension["name"], extension["publisher"], extension["type"]) == (
        HEALTH_EXTENSION_NAME, HEALTH_PUBLISHER, HEALTH_TYPE
    )  # fmt: skip
    assert extension["typeHandlerVersion"] == "1.0"  # Binary states, as the emulator's
    settings = extension["settings"]
    app_port = value(TEMPLATE["variables"]["appPort"])
    assert {k: v for k, v in settings.items() if k != "port"} == {
        "protocol": h.protocol, "requestPath": h.request_path,
        "intervalInSeconds": h.interval_in_seconds, "numberOfProbes": h.number_of_probes,
    }  # fmt: skip
    assert h.port == 0 and settings["port"] == app_port  # emulator: port 0 = the app's port

    lb, p = default.load_balancer, probe()
    assert value(resource("Microsoft.Network/loadBalancers")["name"]) == lb.name
    assert (p["protocol"], p["requestPath"], p["intervalInSeconds"], p["probeThreshold"]) == (
        lb.probe_protocol, lb.probe_path, lb.probe_interval_in_seconds, lb.probe_threshold
    )  # fmt: skip
    assert p["port"] == app_port


def test_the_pipeline_templates_name_the_same_fleet() -> None:
    """The Azure Pipelines templates' variables default to the reference fleet's names."""
    default = Topology()
    for name in ("nightly-resilience.yml", "release-gate.yml"):
        variables = yaml.safe_load((REPO / "ci-templates" / "azure-pipelines" / name).read_text())[
            "variables"
        ]
        assert variables["FLEXCHAOS_RESOURCE_GROUP"] == default.scale_set.resource_group
        assert variables["FLEXCHAOS_SCALE_SET"] == default.scale_set.name
        assert variables["FLEXCHAOS_LOAD_BALANCER"] == default.load_balancer.name
        assert variables["FLEXCHAOS_ALLOW_TAG"] == "=".join(DEFAULT_ALLOW_TAG)


def test_the_embedded_cloud_init_is_the_sources() -> None:
    sys.path.insert(0, str(FLEET))
    try:
        import embed  # reference-fleet/embed.py
    finally:
        sys.path.remove(str(FLEET))
    embedded = TEMPLATE["variables"]["cloudInit"]
    assert embedded == embed.cloud_init(), "run `python reference-fleet/embed.py`"
    config = yaml.safe_load(embedded)
    files = {f["path"]: f["content"] for f in config["write_files"]}
    assert files["/opt/flexchaos/app.py"] == (FLEET / "app.py").read_text()
    assert (
        "ExecStart=/usr/bin/python3 /opt/flexchaos/app.py 80"
        in files["/etc/systemd/system/flexchaos-app.service"]
    )
    assert embedded.startswith("#cloud-config\n")


def test_the_reference_app_answers_as_the_emulators_vms(tmp_path: Path) -> None:
    """The app the VMs run, run here on loopback: /, /health, the unhealthy switch, 404."""
    unhealthy = tmp_path / "unhealthy"
    app = subprocess.Popen(
        [sys.executable, str(FLEET / "app.py"), "0", "127.0.0.1"],
        stdout=subprocess.PIPE, text=True,
        env={"FLEXCHAOS_UNHEALTHY_FILE": str(unhealthy), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    try:
        line = app.stdout.readline() if app.stdout else ""
        port = int(line.rsplit(":", 1)[1])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            root = http.get("/")
            assert root.status_code == 200 and root.headers["X-Served-By"]
            assert root.text == f"served by {root.headers['X-Served-By']}\n"
            assert http.get("/health").status_code == 200
            unhealthy.touch()
            assert http.get("/health").status_code == 503
            unhealthy.unlink()
            wait_for(lambda: http.get("/health").status_code == 200, timeout=10, what="healthy")
            assert http.get("/?delay_ms=50").status_code == 200
            assert http.get("/nothing").status_code == 404
            assert http.head("/").status_code == 200
    finally:
        app.terminate()
        app.wait(timeout=10)
