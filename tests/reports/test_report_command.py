"""`flexchaos report` end to end: demo results → Allure 3 single-file HTML with history/trend."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flexchaos.cli import main
from reports.screenshots import EMBEDDED, result_ids_by_title

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "tests" / "reports" / "demo_gameday.py"


def run_demo(results: Path, slower: float) -> None:
    """The demo game day (constructed timelines) through the real Allure glue."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "FLEXCHAOS_DEMO_SLOWER": str(slower)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:flexchaos", "-p", "no:cacheprovider",
         f"--alluredir={results}", f"--rootdir={results.parent}", str(DEMO)],
        cwd=results.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]  # zone down misses


def test_without_node_the_command_says_how_to_get_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "x-result.json").write_text("{}")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["report", "--results", str(results), "--output", str(tmp_path / "o")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Node.js 20+ with npm is needed" in lines[0]
    assert not (tmp_path / "o").exists()


def test_missing_results_and_unsafe_output_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--results", str(tmp_path / "none")]) == 2
    assert "no Allure results in" in capsys.readouterr().err
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "x-result.json").write_text("{}")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert main(["report", "--results", str(results), "--output", str(precious)]) == 2
    assert "not an Allure report" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"
    assert main(["report", "--results", str(results), "--output", str(results / "r")]) == 2
    assert "overlaps --results" in capsys.readouterr().err
    out = tmp_path / "allure-report"
    args = ["report", "--results", str(results), "--output", str(out)]
    assert main([*args, "--history", str(out / "history.jsonl")]) == 2
    assert "--history" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="Node.js/npm not on PATH: `flexchaos report` needs them (CI has Node 20)",
)
def test_report_end_to_end_with_history_and_trend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history, trend, output = tmp_path / "history.jsonl", tmp_path / "trend.jsonl", tmp_path / "out"
    for run_number, slower in enumerate((1.2, 1.0), start=1):
        results = tmp_path / f"run{run_number}" / "allure-results"
        results.mkdir(parents=True)
        run_demo(results, slower)
        code = main([
            "report", "--results", str(results), "--output", str(output),
            "--history", str(history), "--trend", str(trend),
        ])  # fmt: skip
        printed = capsys.readouterr()
        assert code == 0, printed.out + printed.err
        assert f"report: {output / 'awesome' / 'index.html'}" in printed.out

    awesome = output / "awesome" / "index.html"
    assert awesome.is_file() and (output / "dashboard" / "index.html").is_file()
    assert not (output / "out").exists()  # emptied first: no nested second copy
    assert sorted(result_ids_by_title(awesome)) == [
        "Chaos Studio shutdown",
        "Evict a Spot VM",
        "One zone down",
        "Stop one VM",
    ]
    # Allure's own history: one line per generate; our metric trend: one line per experiment
    assert len(history.read_text().splitlines()) == 2
    points = [json.loads(line) for line in trend.read_text().splitlines()]
    assert len(points) == 8 and len({p["run"] for p in points}) == 2
    zone = [p for p in points if p["experiment"] == "test_zone_down"]
    assert [p["failover_time_s"] for p in zone] == pytest.approx([0.72 * 1.2 / 0.02, 36.0])
    assert (output / "failover-trend.png").read_bytes().startswith(b"\x89PNG")
    # each experiment page carries its trend chart
    decoded = [
        json.loads(base64.b64decode(m.group(2))) for m in EMBEDDED.finditer(awesome.read_text())
    ]
    zone_page = next(d for d in decoded if d.get("name") == "One zone down")
    assert "failover and recovery across runs" in json.dumps(zone_page)
    assert "Missed resilience target" in json.dumps(zone_page)  # our category, not Allure's
    # an inconclusive page says plainly why, in its own category
    page = next(d for d in decoded if d.get("name") == "Chaos Studio shutdown")
    unproved = json.dumps(page, ensure_ascii=False)
    assert "Inconclusive (nothing may pass on it)" in unproved
    assert "Inconclusive — fault not exercised: the Chaos Studio execution" in unproved
