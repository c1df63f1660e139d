"""The pipeline templates' run steps (scripts/pipeline-gameday.sh) against a real emulator, with
the variables each CI sets: the GitHub nightly's steps on a healthy fleet (exit 0), the Azure
Pipelines gate's on a missed target (exit 1), and each category told apart in the CI's words.

The fleet is the emulator in plain mode today. Once the emulator has its Azure mode
(`emulator.identity`, and the shipped role azure/flexchaos-role.json), the same tests run the
real `--fleet azure` path: `FLEET_ARGS` starts it in Azure mode with only the shipped role, and
each CI hands over its federated token the way it does in production (GitHub's OIDC service,
AzureCLI@2's idToken).
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import threading
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from tests.pipelines.run_steps import (
    REPO,
    azure_mode,
    azure_pipelines_environment,
    federated_token,
    fleet_environment,
    github_environment,
    github_oidc_service,
    run_step,
    start_step,
)
from tests.waiting import wait_for

ROLE = REPO / "azure" / "flexchaos-role.json"
AZURE_MODE = importlib.util.find_spec("emulator.identity") is not None and ROLE.is_file()
FLEET_ARGS = ["--azure-mode", "--role", str(ROLE)] if AZURE_MODE else None
# Wall seconds per platform second: 0.2, a 5 s probe interval of 1 s wall. A capacity listing
# slowed by a busy machine must still sample every interval or the stop's capacity targets are
# not judged (inconclusive, not a pass): gaps of 0.26 s wall were seen at 0.05 and of 0.51 s
# (plain) and 0.55 s (Azure mode, HTTPS) at 0.1 while other suites ran beside these tests.
TIME_SCALE = 0.2
EXPERIMENT = "experiments/test_stop_vm.py"  # one experiment: the steps, not the whole game day


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    return start_emulator(time_scale=TIME_SCALE, args=FLEET_ARGS)


def run_settings(tmp: Path, targets: Path | None = None) -> dict[str, str]:
    """The template's own variables: one experiment, a work dir, results without the HTML."""
    return {
        "FLEXCHAOS_EXPERIMENTS": EXPERIMENT,
        "FLEXCHAOS_WORK_DIR": str(tmp / "work"),
        "FLEXCHAOS_TARGETS": str(targets or REPO / "experiments" / "targets.toml"),
        "FLEXCHAOS_REPORT": "false",
        # 8 users, 200 requests/s: at this time scale ~33 new flows per VM per 1 s probe
        # interval (15 needed), at far less CPU than the default 20 on a shared machine
        "FLEXCHAOS_ARGS": "--users 8",
    }


def github_outputs(env: dict[str, str]) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: the last value of each name."""
    path = Path(env["GITHUB_OUTPUT"])
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def mutating_calls(fleet: RunningEmulator) -> int:
    log = fleet.client.requests()["log"]
    return sum(
        1
        for r in log
        if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
        and r["path"].startswith("/subscriptions")
        and not r["path"].endswith("/health")
    )


def test_github_nightly_steps_meet_the_targets(fleet, tmp_path: Path) -> None:
    env = {**github_environment(tmp_path), **fleet_environment(fleet), **run_settings(tmp_path)}
    with github_oidc_service(federated_token(fleet) if azure_mode(fleet) else "-") as oidc:
        if azure_mode(fleet):
            env.update(oidc.environment())
        preflight = run_step("preflight", env)
        assert preflight.code == 0, preflight.output[-3000:]
        gameday = run_step("gameday", env)
        rollback = run_step("rollback", env)
    assert gameday.code == 0, gameday.output[-3000:]
    assert github_outputs(env) | {"work-dir": ""} == {
        "exit-code": "0", "category": "met", "work-dir": ""
    }  # fmt: skip
    notices = gameday.lines("::notice title=flexchaos gameday: every resilience target met::")
    assert len(notices) == 1 and notices[0].endswith("Who to call: nobody; the gate is open.")
    assert not gameday.lines("::error") and not gameday.lines("##vso[")
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "## flexchaos game day: PASSED, exit 0" in summary
    assert "| `test_stop_vm` | stop | ✅ met |" in summary
    junit = (tmp_path / "work" / "junit.xml").read_text()
    assert 'name="test_stop_vm"' in junit and "<failure" not in junit
    assert rollback.code == 0, rollback.output[-2000:]
    assert rollback.lines("::notice title=flexchaos rollback: nothing left in::")
    journal = (tmp_path / "work" / "journal.jsonl").read_text().splitlines()
    kinds = [json.loads(line)["record"] for line in journal]
    assert kinds == ["leased", "injected", "landed", "reverted"]


def test_azure_pipelines_gate_fails_on_a_design_finding(start_emulator, tmp_path: Path) -> None:
    """A fleet without the Application Health extension: the default game day's design review
    fails (exit 1, the design failed) and the gate says so. Read-only: nothing is changed."""
    flawed = start_emulator(
        "[health_extension]\nenabled = false\n[automatic_repairs]\nenabled = false\n",
        time_scale=TIME_SCALE, args=FLEET_ARGS,
    )  # fmt: skip
    env = {
        **azure_pipelines_environment(tmp_path),
        **fleet_environment(flawed),
        **run_settings(tmp_path),
        "FLEXCHAOS_EXPERIMENTS": "experiments/test_design_review.py",
    }
    if azure_mode(flawed):  # AzureCLI@2 with addSpnToEnvironment hands over these three
        env["idToken"] = federated_token(flawed)
        env["servicePrincipalId"] = env.pop("AZURE_CLIENT_ID")
        env["tenantId"] = env.pop("AZURE_TENANT_ID")
    before = mutating_calls(flawed)
    gameday = run_step("gameday", env)
    assert gameday.code == 1, gameday.output[-3000:]
    review = r"design review \(a checklist, not an experiment\): .*[1-9] fail"
    assert re.search(review, gameday.output)
    assert "lack the Application Health extension" in gameday.output
    issues = gameday.lines("##vso[task.logissue type=error]")
    assert len(issues) == 1, gameday.output[-3000:]
    title = "flexchaos gameday: a resilience target was missed (the design failed): Exit 1:"
    assert title in issues[0]
    assert gameday.lines("##vso[task.setvariable variable=category;isOutput=true]missed")
    assert gameday.lines("##vso[task.setvariable variable=exitCode;isOutput=true]1")
    assert not gameday.lines("::")  # no GitHub annotation on Azure Pipelines
    junit = (tmp_path / "work" / "junit.xml").read_text()
    assert 'name="test_design_review"' in junit and "<failure" in junit
    uploads = gameday.lines("##vso[task.uploadsummary]")  # the harness wrote none: the script's
    assert len(uploads) == 1, gameday.output[-3000:]
    summary = Path(uploads[0].removeprefix("##vso[task.uploadsummary]"))
    assert summary == tmp_path / "work" / "job-summary-gameday.md"
    text = summary.read_text()
    assert text.startswith("## flexchaos game day: FAILED (a target was missed), exit 1\n")
    assert "design review (a checklist, not an experiment)" in text
    rollback = run_step("rollback", env)
    assert rollback.code == 0 and not rollback.lines("##vso[task.logissue")
    assert mutating_calls(flawed) == before


@pytest.mark.parametrize("ci", ["github", "azure-pipelines"])
def test_missing_fleet_variables_are_bad_input_in_the_ci_words(ci: str, tmp_path: Path) -> None:
    """Exit 2 with one line naming every missing variable; no flexchaos command is started."""
    ci_env = (github_environment if ci == "github" else azure_pipelines_environment)(tmp_path)
    env = {**ci_env, "FLEXCHAOS_FLEET": "azure", "FLEXCHAOS_SCALE_SET": "vmss-web",
           "FLEXCHAOS_WORK_DIR": str(tmp_path / "work")}  # fmt: skip
    step = run_step("gameday", env)
    assert step.code == 2
    missing = "--fleet azure needs FLEXCHAOS_SUBSCRIPTION FLEXCHAOS_RESOURCE_GROUP FLEXCHAOS_LB_URL"
    assert step.output.count(missing) == 2  # the stderr line and the CI's annotation
    if ci == "github":
        title = "flexchaos gameday: bad input (refused before its fault)"
        errors = step.lines(f"::error title={title}::")
        assert len(errors) == 1 and missing in errors[0]
        assert github_outputs(env)["category"] == "bad-input"
    else:
        assert step.lines("##vso[task.logissue type=error]flexchaos gameday: bad input")
        assert step.lines("##vso[task.setvariable variable=category;isOutput=true]bad-input")
    assert "Traceback" not in step.output and not (tmp_path / "work").exists()


def _azure_names(tmp: Path) -> dict[str, str]:
    """A complete --fleet azure, for the sign-in hand-over (rollback of an empty work dir never
    reaches Azure: nothing to roll back)."""
    return {
        "FLEXCHAOS_FLEET": "azure",
        "FLEXCHAOS_SUBSCRIPTION": "00000000-0000-0000-0000-00000000c0de",
        "FLEXCHAOS_RESOURCE_GROUP": "rg-flexchaos",
        "FLEXCHAOS_SCALE_SET": "vmss-web",
        "FLEXCHAOS_WORK_DIR": str(tmp / "work"),
    }


def test_github_oidc_token_is_asked_for_azure_and_masked(tmp_path: Path) -> None:
    env = {**github_environment(tmp_path), **_azure_names(tmp_path),
           "AZURE_CLIENT_ID": "client-1", "AZURE_TENANT_ID": "tenant-1"}  # fmt: skip
    (tmp_path / "work").mkdir()
    with github_oidc_service("aaa.bbb.ccc") as oidc:
        step = run_step("rollback", {**env, **oidc.environment()})
    assert step.code == 0, step.output
    assert len(oidc.requests) == 1
    request = oidc.requests[0]
    assert request["authorization"] == "bearer gh-request-token"
    assert request["path"] == "/token?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"
    assert step.lines("::add-mask::aaa.bbb.ccc")
    assert "sign-in: GitHub Actions OIDC token for client client-1" in step.output
    assert not list(tmp_path.glob("flexchaos-federated-token.*"))  # removed when the step ends


def test_github_oidc_refusal_is_one_line(tmp_path: Path) -> None:
    env = {**github_environment(tmp_path), **_azure_names(tmp_path),
           "AZURE_CLIENT_ID": "client-1", "AZURE_TENANT_ID": "tenant-1"}  # fmt: skip
    with github_oidc_service("aaa.bbb.ccc") as oidc:
        step = run_step("preflight", {**env, **oidc.environment(),
                                      "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong"})  # fmt: skip
    assert step.code == 2
    assert "permissions: id-token: write" in step.output and "Traceback" not in step.output
    assert github_outputs(env)["category"] == "bad-input"


def test_azure_pipelines_id_token_becomes_workload_identity(tmp_path: Path) -> None:
    env = {
        **azure_pipelines_environment(tmp_path),
        **_azure_names(tmp_path),
        "idToken": "ddd.eee.fff",
        "servicePrincipalId": "client-2",
        "tenantId": "tenant-2",
    }
    (tmp_path / "work").mkdir()
    step = run_step("rollback", env)
    assert step.code == 0, step.output
    assert step.lines("##vso[task.setsecret]ddd.eee.fff")
    assert "sign-in: workload identity federation of the Azure Pipelines service connection" in (
        step.output
    )
    assert not list(tmp_path.glob("flexchaos-federated-token.*"))


def test_a_cancelled_step_passes_the_signal_on_and_says_interrupted(fleet, tmp_path: Path) -> None:
    """A cancelled pipeline signals the step's shell (SIGTERM): the script passes it on to the
    game day, which stops (reverting any fault in: tests/gameday's Ctrl-C test) and exits 130,
    said as `interrupted`; the rollback step then finds nothing open."""
    env = {**github_environment(tmp_path), **fleet_environment(fleet), **run_settings(tmp_path)}
    step = start_step("gameday", env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(step.stdout or []), daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: any(line.startswith("collected ") for line in lines),
            timeout=120, what="the game day's experiments to be collected",
        )  # fmt: skip
        step.send_signal(signal.SIGTERM)  # the shell only, as a runner's cancel does
        step.wait(timeout=180)
    finally:
        if step.poll() is None:
            step.kill()
    reader.join(timeout=30)
    output = "".join(lines)
    assert step.returncode == 130, output[-3000:]
    assert "::warning title=flexchaos gameday: interrupted (faults reverted)::" in output
    assert github_outputs(env)["category"] == "interrupted"
    journal = tmp_path / "work" / "journal.jsonl"
    entries = journal.read_text().splitlines() if journal.exists() else []
    assert len(entries) % 2 == 0, entries  # each fault injected was reverted
    rollback = run_step("rollback", env)
    assert rollback.code == 0, rollback.output[-2000:]
