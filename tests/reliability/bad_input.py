"""The bad-input table: every bad value of every `flexchaos` option, what it must say, and the
runner that tries each one against a running emulator.

One table serves three readers: tests/reliability/test_bad_input.py runs every case and asserts
exit 2, one line, no traceback and zero mutating calls in the emulator's request log;
scripts/bad_input_table.py writes the README's "Bad input" table from the same runs; and the
test checks that the README shows exactly what the runs printed, so the table cannot drift.

A case's command may name `{arm}` (the emulator's ARM URL) and `{tmp}` (a folder with the
files of `make_files`); the line shown in the README has them as `URL` and `TMP`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 0.02  # of the emulator the cases attach to (its lines name it)
ONE_EXPERIMENT = "experiments/test_stop_vm.py"
# A credential that fails at once, offline: the "401" of Azure, without a network.
NO_CREDENTIAL = {
    "AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000002",
    "AZURE_CLIENT_SECRET": "wrong",
    "AZURE_AUTHORITY_HOST": "https://127.0.0.1:1",
}
AZURE = ("--fleet", "azure", "--subscription", "s", "--resource-group", "rg", "--scale-set", "v")


@dataclass(frozen=True)
class Case:
    """One bad input: the command after `flexchaos`, and a fragment of the one line it prints."""

    id: str
    argv: tuple[str, ...]
    expect: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str:
        """As the README shows it: `URL` for the emulator, `TMP` for the scratch folder."""
        shown = " ".join(_quote(a) for a in self.argv).replace("{arm}", "URL")
        return ("flexchaos " + shown.replace("{tmp}", "TMP")).strip()


def plan(*argv: str) -> tuple[str, ...]:
    return ("plan", "--fault", "stop", "--count", "1", "--arm-url", "{arm}", *argv)


def gameday(*argv: str) -> tuple[str, ...]:
    return (
        "gameday",
        "--no-report",
        "--experiments",
        ONE_EXPERIMENT,
        "--work-dir",
        "{tmp}/work",
        "--",
        *argv,
    )


def attached(*argv: str) -> tuple[str, ...]:
    return gameday("--arm-url", "{arm}", *argv)


# fmt: off
CASES: tuple[Case, ...] = (
    # -- the command line itself -------------------------------------------------------------
    Case("no-command", (), "the following arguments are required: COMMAND"),
    Case("unknown-command", ("chaos",), "invalid choice: 'chaos'"),
    Case("unknown-option", ("plan", "--fault", "stop", "--cuont", "1"), "unrecognized arguments"),
    # -- plan: the fault and its options ---------------------------------------------------------
    Case("unknown-fault", ("plan", "--fault", "explode"), "invalid choice: 'explode'"),
    Case("option-fault-does-not-take", plan("--abrupt"), "fault stop does not take --abrupt"),
    Case("hold-not-a-number", plan("--hold", "long"), "--hold"),
    Case("hold-negative", plan("--hold", "-5"), "--hold must be above 0"),
    # -- plan: the selection ---------------------------------------------------------------------
    Case("vm-not-a-member", ("plan", "--fault", "stop", "--vm", "nope", "--arm-url", "{arm}"),
         "guard refused (membership)"),
    Case("count-not-a-number", plan("--count", "two"), "argument --count: invalid int value"),
    Case("count-zero", plan("--count", "0"), "count (--count) 0 must be at least 1"),
    Case("count-too-many", plan("--count", "99"), "guard refused (max_unavailable)"),
    Case("percent-out-of-range", ("plan", "--fault", "stop", "--percent", "150", "--arm-url",
         "{arm}"), "percent (--percent) 150 must be in (0, 100]"),
    Case("zone-with-no-vm", plan("--zone", "9"), "zone"),
    Case("fault-domain-not-a-number", plan("--fault-domain", "x"), "--fault-domain"),
    Case("priority-unknown", plan("--priority", "Low"), "argument --priority: invalid choice"),
    Case("tag-not-key-value", plan("--tag", "team"), "--tag 'team' must look like KEY=VALUE"),
    Case("tag-matches-nothing", plan("--tag", "team=none"), "team"),
    Case("seed-not-a-number", plan("--seed", "abc"), "argument --seed: invalid int value: 'abc'"),
    # -- plan: the guard -------------------------------------------------------------------------
    Case("max-unavailable-garbage", plan("--max-unavailable", "lots"), "max_unavailable 'lots'"),
    Case("max-unavailable-over-100", plan("--max-unavailable", "150%"), "max_unavailable '150%'"),
    Case("floor-out-of-range", plan("--floor", "2"), "floor 2"),
    Case("floor-not-a-number", plan("--floor", "half"), "argument --floor: invalid float value"),
    Case("guard-max-unavailable", ("plan", "--fault", "zone-down", "--zone", "1", "--arm-url",
         "{arm}", "--max-unavailable", "1"), "guard refused (max_unavailable)"),
    Case("guard-spot-only", ("plan", "--fault", "evict", "--priority", "Regular", "--count", "1",
         "--arm-url", "{arm}"), "guard refused (spot_only)"),
    # -- the fleet options (plan, review and the game day parse them alike) ----------------------
    Case("fleet-unknown", plan("--fleet", "gcp"), "--fleet 'gcp' is not known"),
    Case("arm-url-dead", ("plan", "--fault", "stop", "--arm-url", "http://127.0.0.1:1"),
         "no flexchaos emulator answers at http://127.0.0.1:1"),
    Case("scale-set-not-there", plan("--scale-set", "nope"), "scale set 'nope' not found"),
    Case("resource-group-not-there", plan("--resource-group", "nope"), "resource group 'nope'"),
    Case("subscription-not-there", plan("--subscription", "0000"), "(subscription 0000)"),
    Case("time-scale-mismatch", plan("--time-scale", "0.5"), "--time-scale 0.5 does not match"),
    Case("time-scale-negative", plan("--time-scale", "-1"), "--time-scale must be a number"),
    Case("time-scale-zero", ("plan", "--fault", "stop", "--time-scale", "0"),
         "--time-scale must be a number from 0.001 to 1"),
    Case("time-scale-not-a-number", plan("--time-scale", "fast"), "got 'fast'"),
    Case("topology-with-arm-url", plan("--topology", "{tmp}/bad.toml"),
         "--topology applies only to an emulator started for the run"),
    Case("topology-missing", ("plan", "--fault", "stop", "--topology", "{tmp}/none.toml"),
         "cannot read topology file"),
    Case("topology-malformed", ("plan", "--fault", "stop", "--topology", "{tmp}/bad.toml"),
         "bad.toml"),
    Case("allow-tag-not-key-value", plan("--allow-tag", "chaos"), "--allow-tag 'chaos'"),
    Case("azure-missing-names", ("plan", "--fault", "stop", "--fleet", "azure"),
         "--fleet azure needs --subscription, --resource-group, --scale-set"),
    Case("azure-with-time-scale", ("plan", "--fault", "stop", *AZURE, "--time-scale", "0.5"),
         "--time-scale applies only to the emulator"),
    Case("azure-credential-refused", ("plan", "--fault", "stop", *AZURE,
         "--arm-url", "https://127.0.0.1:1"), "authentication failed", NO_CREDENTIAL),
    Case("review-scale-set-not-there", ("review", "--arm-url", "{arm}", "--scale-set", "nope"),
         "scale set 'nope' not found"),
    # -- rollback --------------------------------------------------------------------------------
    Case("journal-missing", ("rollback", "--journal", "{tmp}/none.jsonl"), "does not exist"),
    Case("journal-is-a-directory", ("rollback", "--journal", "{tmp}"), "is a directory"),
    Case("journal-garbage", ("rollback", "--journal", "{tmp}/garbage.jsonl"), "is damaged at line"),
    Case("work-dir-missing", ("rollback", "--work-dir", "{tmp}/none"), "does not exist"),
    Case("timeout-not-a-number", ("rollback", "--timeout", "soon"), "argument --timeout"),
    Case("timeout-negative", ("rollback", "--timeout", "-1"), "--timeout"),
    # -- report ----------------------------------------------------------------------------------
    Case("report-results-missing", ("report", "--results", "{tmp}/none"), "no Allure results in"),
    Case("report-work-dir-is-a-file", ("report", "--work-dir", "{tmp}/bad.toml"), "bad.toml"),
    # -- emulator --------------------------------------------------------------------------------
    Case("emulator-time-scale-zero", ("emulator", "--time-scale", "0"),
         "--time-scale must be a number from 0.001 to 1"),
    Case("emulator-rate-over-1", ("emulator", "--rate-429", "2"), "--rate-429 must be between"),
    Case("emulator-rates-sum", ("emulator", "--rate-429", "0.6", "--rate-5xx", "0.6"),
         "--rate-429 plus --rate-5xx"),
    Case("emulator-latency-negative", ("emulator", "--latency-ms", "-1"), "--latency-ms"),
    Case("emulator-port-out-of-range", ("emulator", "--port", "70000"), "--port must be a TCP"),
    Case("emulator-lb-port-not-a-number", ("emulator", "--lb-port", "http"), "--lb-port"),
    Case("emulator-seed-not-a-number", ("emulator", "--seed", "abc"), "--seed"),
    Case("emulator-parent-pid-not-a-number", ("emulator", "--parent-pid", "me"), "--parent-pid"),
    Case("emulator-topology-missing", ("emulator", "--topology", "{tmp}/none.toml"),
         "cannot read topology file"),
    # -- gameday (its own options, and those after --) -------------------------------------------
    Case("gameday-no-experiment", ("gameday", "--no-report", "--experiments", "{tmp}/none.py",
         "--work-dir", "{tmp}/work"), "file or directory not found"),
    Case("gameday-work-dir-is-a-file", ("gameday", "--work-dir", "{tmp}/bad.toml"), "bad.toml"),
    Case("gameday-users-zero", attached("--users", "0"), "--users must be at least 1"),
    Case("gameday-users-not-a-number", attached("--users", "many"), "--users must be a whole"),
    Case("gameday-seed-not-a-number", attached("--seed", "abc"), "--seed must be a whole number"),
    Case("gameday-targets-missing", attached("--targets", "{tmp}/none.toml"),
         "not found; create it or pass --targets FILE"),
    Case("gameday-targets-malformed", attached("--targets", "{tmp}/targets.toml"),
         "max_error_rate"),
    Case("gameday-journal-is-a-directory", attached("--journal", "{tmp}"), "is a directory"),
    Case("gameday-journal-read-only", attached("--journal", "/sys/journal.jsonl"),
         "cannot write the journal"),
    Case("gameday-journal-cannot-be-made", attached("--journal", "/proc/flexchaos/j.jsonl"),
         "cannot write the journal"),
    Case("gameday-time-scale-zero", gameday("--time-scale", "0"), "--time-scale must be"),
    Case("gameday-time-scale-negative", attached("--time-scale", "-1"), "--time-scale must be"),
    Case("gameday-time-scale-mismatch", attached("--time-scale", "0.5"), "does not match"),
    Case("gameday-scale-set-not-there", attached("--scale-set", "nope"), "scale set 'nope'"),
    Case("gameday-guard-refusal", ("gameday", "--no-report", "--experiments",
         "{tmp}/test_evict_regular.py", "--work-dir", "{tmp}/work", "--", "--arm-url", "{arm}",
         "--targets", "experiments/targets.toml"), "guard refused (spot_only)"),
)
# fmt: on


@dataclass(frozen=True)
class Result:
    case: Case
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def error_lines(self) -> list[str]:
        """The lines that carry the case's message (the one line, normally). The last is
        flexchaos's own, whole whatever the terminal's width: the README shows that one."""
        return [line for line in self.output.splitlines() if self.case.expect in line]


def make_files(tmp: Path) -> None:
    (tmp / "bad.toml").write_text("[scale_set\n")
    (tmp / "targets.toml").write_text("[defaults]\nmax_error_rate = 1.5\n")
    (tmp / "garbage.jsonl").write_text('this is not a journal\n{"half": \n')
    (tmp / "test_evict_regular.py").write_text(
        "import pytest\nfrom fleet.selection import Selection\n\n\n"
        "@pytest.mark.chaos(fault='evict', select=Selection(count=1, priority='Regular'))\n"
        "def test_evict_regular(game_day):\n    game_day.run()\n"
    )


def run_case(case: Case, arm_url: str, tmp: Path, timeout_s: float = 120.0) -> Result:
    """Run a case as a user would. Cases run side by side, so each gets its own work folder
    (shown as TMP/work): game days sharing one would read each other's run.json."""
    work = f"{tmp}/work-{case.id}"
    argv = [
        a.replace("{tmp}/work", work).replace("{arm}", arm_url).replace("{tmp}", str(tmp))
        for a in case.argv
    ]
    env = {**os.environ, **case.env, "GITHUB_STEP_SUMMARY": str(tmp / "summary.md")}
    done = subprocess.run(
        [sys.executable, "-m", "flexchaos", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    output = (done.stdout, done.stderr)
    return Result(case, done.returncode, *(text.replace(work, f"{tmp}/work") for text in output))


def shown(line: str, arm_url: str, tmp: Path) -> str:
    """A printed line as the README shows it: no port, temporary folder, seed or VM name."""
    line = line.replace(str(tmp), "TMP").replace(arm_url, "URL")
    line = re.sub(r"seed=\d+", "seed=N", line)
    return re.sub(r"(vmss-web_)[0-9a-f]{8}", r"\1…", line).strip()


def readme_row(case: Case, line: str) -> str:
    """The README table's row for a case and the line it printed (shown())."""
    cells = [case.id, f"`{case.command}`", "2", line.replace("|", "\\|")]
    return "| " + " | ".join(cells) + " |"


def is_gameday(case: Case) -> bool:
    return case.argv[:1] == ("gameday",)


def max_lines(case: Case) -> int:
    """A game day's refusal is shown where pytest reports it (the experiment's failure, or its
    usage error) and again by flexchaos at the end; everything else prints its line once."""
    return 2 if is_gameday(case) else 1


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./{}-]+", arg) else repr(arg)
