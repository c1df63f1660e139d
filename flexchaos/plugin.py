"""The flexchaos pytest plugin: options, the fleet for the session, and the `game_day` fixture.

An experiment is a test with a `chaos` marker that calls `game_day.run()`:

    @pytest.mark.chaos(fault="stop", select=Selection(count=1), hold_s=60,
                       hypothesis="Losing one VM costs users under 5 % errors.")
    def test_stop_vm(game_day):
        game_day.run()

With `--fleet emulator` (the default) the emulator is started for the session the first time
an experiment needs it and stopped at the end; `--arm-url` attaches to a running one instead.
Nothing here runs unless a test asks for these fixtures, so `pytest tests/` never starts a
game day.
"""

from __future__ import annotations

import json
import platform
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from typing import Any

import pytest

from fleet.guard import GuardLimits
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError, Interrupted
from flexchaos.fleet_spec import Fleet, open_fleet
from flexchaos.lifecycle import Experiment, Outcome, RunOptions
from flexchaos.scenario import Scenario
from flexchaos.settings import Settings, add_options
from reports.targets import TargetsFile, load_targets
from reports.verdict import Verdict

VERDICTS_KEY = pytest.StashKey[list[Verdict]]()
SETTINGS_KEY = pytest.StashKey[Settings]()
PREVIOUS_SIGTERM_KEY = pytest.StashKey[Any]()
FLEET_KEY = pytest.StashKey[Fleet]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos(fault, select=Selection(...), options={}, hold_s=60, baseline_s=30, "
        "recovery_limit_s=600, platform_heals=False, hypothesis='', title='', severity=...): "
        "declares a flexchaos experiment (durations in platform seconds)",
    )
    config.stash[VERDICTS_KEY] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """SIGTERM (a cancelled pipeline) unwinds like Ctrl-C, so Locust, the probes and the
    emulator are stopped by their context managers and pytest exits as interrupted."""
    if threading.current_thread() is threading.main_thread():
        session.config.stash[PREVIOUS_SIGTERM_KEY] = signal.signal(signal.SIGTERM, _sigterm)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt("interrupted by SIGTERM")


def pytest_unconfigure(config: pytest.Config) -> None:
    previous = config.stash.get(PREVIOUS_SIGTERM_KEY, None)
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def settings_of(config: pytest.Config) -> Settings:
    if SETTINGS_KEY not in config.stash:
        try:
            config.stash[SETTINGS_KEY] = Settings.from_pytest(config)
        except FlexchaosError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SETTINGS_KEY]


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Check the settings, targets file and markers before anything runs: bad input stops here."""
    experiments = [i for i in items if i.get_closest_marker("chaos") is not None]
    if not experiments:
        return
    settings = settings_of(config)
    try:
        load_targets(settings.targets)
        for item in experiments:
            marker = item.get_closest_marker("chaos")
            assert marker is not None
            Scenario.from_marker(item.name, dict(marker.kwargs))
    except FlexchaosError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def flexchaos_settings(pytestconfig: pytest.Config) -> Settings:
    return settings_of(pytestconfig)


@pytest.fixture(scope="session")
def flexchaos_targets(flexchaos_settings: Settings) -> TargetsFile:
    return load_targets(flexchaos_settings.targets)


@pytest.fixture(scope="session")
def flexchaos_fleet(flexchaos_settings: Settings, pytestconfig: pytest.Config) -> Iterator[Fleet]:
    """The fleet under test: the emulator (started here, or attached) or an Azure scale set."""
    with ExitStack() as stack:
        try:
            fleet = stack.enter_context(_session_fleet(flexchaos_settings, pytestconfig))
        except FlexchaosError as exc:  # one line and stop: nothing can run without the fleet
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        pytestconfig.stash[FLEET_KEY] = fleet
        yield fleet


def _session_fleet(settings: Settings, config: pytest.Config) -> AbstractContextManager[Fleet]:
    """The session's fleet as flexchaos.fleet_spec resolves it, the emulator's log kept."""
    return open_fleet(
        settings.fleet_spec,
        log_path=settings.work_dir.create().emulator_log,
        say=lambda line: _say(config, line),
    )


@pytest.fixture(scope="session")
def fleet_target(flexchaos_fleet: Fleet) -> FleetTarget:
    return flexchaos_fleet.target


class GameDay:
    """What an experiment test drives: run the scenario, report it, and pass only if it held."""

    def __init__(
        self,
        request: pytest.FixtureRequest,
        fleet: Fleet,
        targets: TargetsFile,
        settings: Settings,
    ) -> None:
        self.request = request
        self.fleet = fleet
        self.targets_file = targets
        self.settings = settings
        marker = request.node.get_closest_marker("chaos")
        if marker is None:
            raise pytest.UsageError(f"{request.node.name} uses game_day without @pytest.mark.chaos")
        self.scenario = Scenario.from_marker(request.node.name, dict(marker.kwargs))
        self.outcome: Outcome | None = None

    def run(self, limits: GuardLimits | None = None) -> Outcome:
        """Run the lifecycle; raise MissedTargets (failed) or SteadyStateBroken (broken)."""
        from reports import allure_attachments as report

        config = self.request.config
        allure_on = report.results_dir(config) is not None
        scenario = self.scenario
        targets = self.targets_file.for_experiment(scenario.name)
        if allure_on:
            report.describe(
                title=scenario.display_title, scenario=_scenario_text(scenario, self.fleet),
                hypothesis=scenario.hypothesis,
            )  # fmt: skip
        experiment = Experiment(
            scenario,
            self.fleet,
            targets,
            RunOptions(
                work_dir=self.settings.work_dir.experiments,
                journal=self.settings.journal,
                users=self.settings.users,
                seed=self.settings.seed,
                dry_run=self.settings.dry_run,
                limits=limits or GuardLimits(),
            ),
            write=lambda line: _say(config, line),
            step=_allure_step if allure_on else (lambda title: nullcontext()),
        )
        _say(config, f"\n== {scenario.name}: {scenario.fault} — {scenario.hypothesis}")
        try:
            outcome = experiment.run()
        except FlexchaosError as exc:  # bad input or a guard refusal: one line, nothing touched
            pytest.fail(f"{scenario.name}: {exc}", pytrace=False)
        except Interrupted as exc:  # Ctrl-C or SIGTERM: the fault is reverted; stop the run
            _say(config, f"  [{scenario.name}] {exc}: faults reverted, stopping the game day")
            raise KeyboardInterrupt(str(exc)) from exc
        finally:
            self.outcome = experiment.outcome
            if allure_on:
                _attach_outcome(experiment.outcome, self.fleet)
        if self.settings.dry_run:
            pytest.skip("dry run: plan printed, nothing injected")
        verdict = outcome.verdict
        assert verdict is not None
        config.stash[VERDICTS_KEY].append(verdict)
        _say(config, verdict.text_table())
        verdict.check()
        return outcome


@pytest.fixture
def game_day(
    request: pytest.FixtureRequest,
    flexchaos_fleet: Fleet,
    flexchaos_targets: TargetsFile,
    flexchaos_settings: Settings,
) -> GameDay:
    return GameDay(request, flexchaos_fleet, flexchaos_targets, flexchaos_settings)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Results metadata for Allure and the verdicts file the `gameday` command summarises."""
    config = session.config
    verdicts = config.stash.get(VERDICTS_KEY, [])
    if not verdicts:
        return
    settings = settings_of(config)
    settings.work_dir.create().verdicts.write_text(
        json.dumps([v.to_dict() for v in verdicts], indent=2), encoding="utf-8"
    )
    from reports import allure_attachments as report
    from reports.summary import append_job_summary

    results = report.results_dir(config)
    fleet = config.stash.get(FLEET_KEY, None)
    if results is not None:
        report.write_results_metadata(
            results,
            environment={
                "fleet": settings.fleet_spec.kind,
                "scale set": fleet.target.scale_set if fleet else "-",
                "time scale": fleet.time_scale if fleet else "-",
                "endpoint": fleet.target.endpoint.arm_url if fleet else "-",
                "users": settings.users,
                "targets": settings.targets,
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        )
    append_job_summary(verdicts)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    verdicts = config.stash.get(VERDICTS_KEY, [])
    if not verdicts:
        return
    from reports.summary import text_summary

    terminalreporter.section("flexchaos verdicts")
    terminalreporter.write(text_summary(verdicts))


# -- helpers -------------------------------------------------------------------------------------
def _say(config: pytest.Config, line: str) -> None:
    """Write a progress line to the terminal even while pytest captures output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    guard = capture.global_and_fixture_disabled() if capture else nullcontext()
    with guard:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _allure_step(title: str) -> AbstractContextManager[Any]:
    import allure

    return allure.step(title)


def _scenario_text(scenario: Scenario, fleet: Fleet) -> str:
    where = fleet.target.describe()
    heal = "the platform heals it (no revert)" if scenario.platform_heals else "reverted"
    return (
        f"{scenario.fault} on {_selection_text(scenario)} of {where}; "
        f"baseline {scenario.baseline_s:g} s, hold {scenario.hold_s:g} s, {heal}, recovery "
        f"limit {scenario.recovery_limit_s:g} s (platform seconds; time scale "
        f"{fleet.time_scale:g})."
    )


def _selection_text(scenario: Scenario) -> str:
    """The selection without its seed (the seed is a parameter of its own)."""
    parts = [p for p in scenario.selection.describe().split(", ") if not p.startswith("seed=")]
    option_text = ", ".join(f"{k}={v}" for k, v in scenario.options.items())
    return ", ".join(parts + ([option_text] if option_text else [])) or "all VMs"


def _attach_outcome(outcome: Outcome, fleet: Fleet) -> None:
    """Everything the reviewer needs, verdict table and chart first."""
    from probes.measures import Clock
    from reports import allure_attachments as report
    from reports.chart import render_timeline

    scenario = outcome.scenario
    zones = sorted(
        {
            str(vm.get("zones", [None])[0])
            for name, vm in (outcome.evidence_before or {}).get("vms", {}).items()
            if name in outcome.vms and vm.get("zones")
        }
    )
    report.label_experiment(
        fault=scenario.fault, story=scenario.display_title, severity=scenario.severity, zones=zones
    )
    report.set_parameters(vms=outcome.vms, seed=outcome.seed, fleet=fleet.target.describe())
    chart = None
    timeline = outcome.timeline
    if timeline is not None:
        chart = render_timeline(
            timeline, outcome.metrics,  # None (dry run): the chart asks the probes for them
            title=f"{scenario.display_title}: {scenario.fault} on {', '.join(outcome.vms)}",
            clock=Clock(fleet.time_scale),
        )  # fmt: skip
        if outcome.work_dir is not None:
            (outcome.work_dir / "timeline.png").write_bytes(chart)
    if outcome.verdict is not None:
        report.present_verdict(
            outcome.verdict, scenario=_scenario_text(scenario, fleet),
            hypothesis=scenario.hypothesis, chart_png=chart,
        )  # fmt: skip
    elif chart is not None:
        report.attach_chart(chart)
    if outcome.metrics is not None:
        import allure

        allure.attach(
            json.dumps(outcome.metrics.resolution_notes(), indent=2),  # and probe diagnostics
            "sampling resolution of each figure", allure.attachment_type.JSON, "json",
        )  # fmt: skip
    if timeline is not None:
        report.attach_requests_csv(timeline.requests)
        report.attach_timeline_csv(timeline.capacity, "capacity samples")
        report.attach_timeline_csv(timeline.events, "fault events")
    if outcome.load_dir is not None:
        report.attach_locust_stats(sorted(outcome.load_dir.glob("locust*")))
    report.attach_evidence(
        outcome.evidence_before,
        outcome.evidence_after,
        outcome.drift.to_json() if outcome.drift is not None else None,
    )
    if outcome.injection is not None:
        report.attach_journal([e.to_record() for e in outcome.injection.entries])
