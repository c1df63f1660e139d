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

import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from typing import Any

import pytest

from fleet.guard import GuardLimits
from fleet.inventory import Inventory
from fleet.lease import Lease
from fleet.target import FleetTarget
from flexchaos.allure_outcome import allure_step, attach_outcome, scenario_text
from flexchaos.errors import BadInput, FlexchaosError, Inconclusive, Interrupted, MissedTargets
from flexchaos.fleet_spec import Fleet, open_fleet
from flexchaos.input_checks import check_collection, declared_experiments, topology_probe
from flexchaos.lifecycle import Experiment, Outcome, RunOptions
from flexchaos.rerun import rerun_command
from flexchaos.run_identity import now_iso
from flexchaos.run_result import RunResult
from flexchaos.scenario import Scenario
from flexchaos.session_state import (
    DESELECTED_KEY,
    FAULTS_KEY,
    FLEET_KEY,
    LEASE_KEY,
    PREVIOUS_SIGTERM_KEY,
    RESULT_KEY,
    SEED_KEY,
    SETTINGS_KEY,
    STARTED_KEY,
    _say,
    preflight,
    session_seed,
    settings_of,
)
from flexchaos.settings import Settings, add_options
from probes.measures import Clock
from reports.allure_attachments import BAD_INPUT_PREFIX
from reports.hypothesis import stated
from reports.targets import TargetsFile, load_targets
from reports.verdict import inconclusive


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos(fault, select=Selection(...), options={}, hold_s=60, baseline_s=30, "
        "recovery_limit_s=600, platform_heals=False, hypothesis='', title='', severity=...): "
        "declares a flexchaos experiment (durations in platform seconds)",
    )
    config.stash[RESULT_KEY] = RunResult()
    config.stash[STARTED_KEY] = now_iso()


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


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Experiments left out by -k or -m still exist: a targets section may name them."""
    for item in items:
        if item.get_closest_marker("chaos") is not None:
            known = item.config.stash.setdefault(DESELECTED_KEY, set())
            known |= {item.name, getattr(item, "originalname", item.name)}


@pytest.hookimpl(trylast=True)  # after -k and -m: the selected experiments are the ones to run
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Check the settings, targets file, markers, hypotheses and the limits against the fleet
    before anything runs (flexchaos/input_checks.py): bad input stops here, one line, exit 2."""
    experiments = [i for i in items if i.get_closest_marker("chaos") is not None]
    if not experiments:
        return
    result = config.stash[RESULT_KEY]
    try:
        settings = Settings.from_pytest(config)
        config.stash[SETTINGS_KEY] = settings
        targets = load_targets(settings.targets)
        scenarios = [Scenario.from_marker(i.name, dict(_chaos(i).kwargs)) for i in experiments]
        known = config.stash.get(DESELECTED_KEY, set())
        known |= {n for i in experiments for n in (i.name, getattr(i, "originalname", i.name))}
        folders = {settings.targets.parent} | {i.path.parent for i in experiments}
        probe = topology_probe(settings.fleet_spec)
        shown = check_collection(targets, scenarios, known | declared_experiments(folders), probe)
    except FlexchaosError as exc:
        result.bad_input.append(str(exc))  # for run.json and the job summary
        raise pytest.UsageError(str(exc)) from None
    result.hypotheses.update(shown)
    config.stash[FAULTS_KEY] = [s.fault for s in scenarios]


def _chaos(item: pytest.Item) -> pytest.Mark:
    marker = item.get_closest_marker("chaos")
    assert marker is not None
    return marker


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
            # The named target is the target: a scale set, group or subscription that is not
            # there stops the session here, before any experiment reads or changes anything.
            Inventory(fleet.target).scale_set()
        except FlexchaosError as exc:  # one line and stop: nothing can run without the fleet
            pytestconfig.stash[RESULT_KEY].bad_input.append(str(exc))  # for run.json
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        pytestconfig.stash[FLEET_KEY] = fleet
        preflight(fleet, pytestconfig)
        # One run per scale set: the session's lease, taken by its first experiment after that
        # one's read-only preflight and held to the end of the session (released here, also on
        # Ctrl-C and SIGTERM, which unwind through this fixture).
        lease = Lease(fleet.target, say=lambda line: _say(pytestconfig, line))
        stack.callback(lease.release)
        pytestconfig.stash[LEASE_KEY] = lease
        yield fleet


def _session_fleet(settings: Settings, config: pytest.Config) -> AbstractContextManager[Fleet]:
    """The session's fleet as flexchaos.fleet_spec resolves it, the emulator's log kept."""
    return open_fleet(
        settings.fleet_spec,
        log_path=settings.work_dir.create().emulator_log,
        say=lambda line: _say(config, line),
        seed=session_seed(config),
    )


@pytest.fixture(scope="session")
def fleet_target(flexchaos_fleet: Fleet) -> FleetTarget:
    return flexchaos_fleet.target


@pytest.fixture
def design_review(fleet_target: FleetTarget, pytestconfig: pytest.Config) -> Any:
    """`design_review()` prints, records and attaches the read-only design checklist and
    returns the findings; `design_review.check(findings)` fails on a failed check."""
    from flexchaos.design_review import Review
    from reports.allure_attachments import results_dir

    allure_on = results_dir(pytestconfig) is not None
    write = lambda line: _say(pytestconfig, line)  # noqa: E731
    return Review(fleet_target, pytestconfig.stash[RESULT_KEY], write, allure_on)


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
        """Run the lifecycle; raise MissedTargets (failed) or Inconclusive."""
        from reports import allure_attachments as report

        config = self.request.config
        allure_on = report.results_dir(config) is not None
        scenario = self.scenario
        targets = self.targets_file.for_experiment(scenario.name)
        hypothesis = stated(scenario.hypothesis, targets)  # the claim, then what judges it
        if allure_on:
            report.describe(
                title=scenario.display_title, scenario=scenario_text(scenario, self.fleet),
                hypothesis=hypothesis,
            )  # fmt: skip
        experiment = Experiment(
            scenario,
            self.fleet,
            targets,
            RunOptions(
                work_dir=self.settings.work_dir.experiments,
                journal=self.settings.journal,
                users=self.settings.users,
                seed=session_seed(config),
                dry_run=self.settings.dry_run,
                limits=limits or GuardLimits(),
            ),
            write=lambda line: _say(config, line),
            step=allure_step if allure_on else (lambda title: nullcontext()),
            lease=config.stash.get(LEASE_KEY, None),
        )
        _say(config, f"\n== {scenario.name}: {scenario.fault} — {hypothesis}")
        rerun = rerun_command(self.request.node.nodeid, self.settings, session_seed(config))
        _say(config, f"  [{scenario.name}] rerun exactly this experiment: {rerun}")
        result = config.stash[RESULT_KEY]
        refused: str | None = None
        details = {"fault": scenario.fault, "title": scenario.display_title, "rerun": rerun}
        result.experiments[scenario.name] = details
        try:
            outcome = experiment.run()
        except BadInput as exc:  # the preflight refused: one line, nothing touched (exit 2)
            refused = f"{scenario.name}: {exc}"  # failed below, outside the handler: no chain
        except FlexchaosError as exc:  # the harness or the platform failed mid-run (exit 4)
            result.add(
                inconclusive(targets, str(exc), time_scale=self.fleet.time_scale, state="error")
            )
            pytest.fail(f"{scenario.name}: harness error: {exc}", pytrace=False)
        except Interrupted as exc:  # Ctrl-C or SIGTERM: the fault is reverted; stop the run
            result.interrupted = True
            _say(config, f"  [{scenario.name}] {exc}: faults reverted, stopping the game day")
            raise KeyboardInterrupt(str(exc)) from exc
        finally:
            self.outcome = experiment.outcome
            details.update(vms=list(experiment.outcome.vms), seed=experiment.outcome.seed)
            if allure_on:
                attach_outcome(experiment.outcome, self.fleet, hypothesis=hypothesis)
                report.attach_rerun(rerun)
        if refused is not None:
            result.bad_input.append(refused)
            pytest.fail(f"{BAD_INPUT_PREFIX}: {refused}", pytrace=False)
        if self.settings.dry_run:
            why = "dry run: the plan was printed; nothing was injected or judged"
            result.add(inconclusive(targets, why, time_scale=self.fleet.time_scale))
            pytest.skip(why)
        verdict = outcome.verdict
        assert verdict is not None
        result.add(verdict)
        _say(config, verdict.text_table())
        phases = outcome.metrics.failover_phases if outcome.metrics is not None else None
        for line in phases.describe(Clock(self.fleet.time_scale)) if phases is not None else ():
            _say(config, f"  {line}")
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """An experiment that ends without a verdict of its own is recorded as an error (it raised)
    or inconclusive (it never ran its game day): it can never count as a pass. A verdict's
    own exception reads as its message, not a traceback: the verdict table says the rest."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, MissedTargets | Inconclusive):
        report.longrepr = str(call.excinfo.value)  # "Inconclusive: …", "Missed …: …"
    result = item.config.stash.get(RESULT_KEY, None)
    if result is None:
        return report
    marker = item.get_closest_marker("chaos")
    if marker is None:
        if report.failed and report.when == "call":
            result.other_failures.append(item.name)
        return report
    if report.when == "call" and report.failed:
        item._flexchaos_failure = _first_line(report)  # type: ignore[attr-defined]
    done = report.when == "teardown" or (report.when == "setup" and not report.passed)
    if not done or result.has(item.name) or result.interrupted:
        return report
    if result.bad_input and result.bad_input[-1].startswith(f"{item.name}:"):
        return report
    settings = settings_of(item.config)
    targets = load_targets(settings.targets).for_experiment(item.name)
    fleet = item.config.stash.get(FLEET_KEY, None)
    scale = fleet.time_scale if fleet else 1.0
    failure = getattr(item, "_flexchaos_failure", None) or (
        _first_line(report) if report.failed else None
    )
    if failure is not None:
        why = f"the experiment failed without a verdict: {failure}"
        result.unfinished(targets, why, error=True, time_scale=scale)
    else:
        why = "the experiment never ran its game day (game_day.run() was not called)"
        result.unfinished(targets, why, error=False, time_scale=scale)
    return report


def _collection_failed(config: pytest.Config) -> bool:
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    errors = terminal.stats.get("error", []) if terminal is not None else []
    return any(isinstance(r, pytest.CollectReport) for r in errors)


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:  # "RuntimeError: what went wrong"
        return str(crash.message).strip().splitlines()[0][:300]
    text = str(report.longrepr or "").strip().splitlines()
    return text[-1][:300] if text else report.outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Results metadata for Allure and the run's record (`run.json`, `verdicts.json`) that the
    `gameday` command summarises and exits with."""
    config = session.config
    if _collection_failed(config):  # a broken experiment file is bad input, not an interrupt
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    result = config.stash.get(RESULT_KEY, None)
    if result is None or not (result.verdicts or result.bad_input):
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        result.interrupted = True
    from flexchaos.session_record import finish
    from reports import allure_attachments as report

    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:  # the settings themselves were the bad input: no work dir to write
        from reports.summary import append_job_summary

        append_job_summary(result.verdicts, exit_code=result.exit_code, problems=result.problems)
        return
    finish(
        result, settings, config.stash.get(FLEET_KEY, None),
        seed=config.stash.get(SEED_KEY, settings.seed), started=config.stash[STARTED_KEY],
        ended=now_iso(), results_dir=report.results_dir(config),
    )  # fmt: skip


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The closing summary, once: `flexchaos gameday` turns it off here and prints it itself
    after the report (`-o flexchaos_closing_summary=false`)."""
    result = config.stash.get(RESULT_KEY, None)
    settings = config.stash.get(SETTINGS_KEY, None)
    if result is None or not (result.verdicts or result.bad_input):
        return
    if exitstatus == pytest.ExitCode.USAGE_ERROR:  # refused at collection: its one line is out
        return
    if settings is not None and not settings.closing_summary:
        return
    from flexchaos.session_record import closing_summary

    terminalreporter.section("flexchaos verdicts")
    terminalreporter.write(closing_summary(result, settings))
