"""Screenshots of a generated report in headless Chromium: how a reviewer first sees it.

    python -m reports.screenshots --work-dir .flexchaos --test "Stop VM" --out docs/img

Shoots the run summary (the report folder's index.html, the page that opens first), one
experiment's page (found by its title in the single-file Awesome report) and the Awesome
overview, and copies that experiment's timeline chart. Chromium renders from disk (`file://`)
because the reports are single files, with a fresh profile and no network of its own; a retry
covers the page still loading on a busy machine. scripts/screenshots.sh runs a game day first.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from flexchaos.errors import FlexchaosError

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]  # fmt: skip
EMBEDDED = re.compile(r'data/test-results/([0-9a-f]+)\.json","([A-Za-z0-9+/=]+)"')
MIN_RENDERED_BYTES = 40_000  # a page still loading is a near-empty PNG


def result_ids_by_title(awesome_html: Path) -> dict[str, str]:
    """Title → test-result id, read from the data embedded in a single-file Awesome report."""
    ids = {}
    for match in EMBEDDED.finditer(awesome_html.read_text(encoding="utf-8")):
        try:
            data = json.loads(base64.b64decode(match.group(2)))
        except (ValueError, json.JSONDecodeError):
            continue
        ids[data.get("name", "")] = match.group(1)
    return ids


def shoot(
    url: str,
    out: Path,
    size: str,
    budget_ms: int = 15_000,
    tries: int = 3,
    min_bytes: int = MIN_RENDERED_BYTES,
) -> Path:
    """Screenshot `url` into `out`; retry with a larger budget while the page is still loading."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise FlexchaosError("chromium not found; install it (apt-get install chromium)")
    for attempt in range(tries):
        with tempfile.TemporaryDirectory(prefix="flexchaos-chromium-") as profile:
            subprocess.run(
                [chromium, *FLAGS, f"--user-data-dir={profile}",
                 f"--virtual-time-budget={budget_ms * (attempt + 1)}",
                 f"--screenshot={out}", f"--window-size={size}", url],
                capture_output=True, timeout=120, check=False,
            )  # fmt: skip
        if out.is_file() and out.stat().st_size >= min_bytes:
            return out
    raise FlexchaosError(f"chromium did not render {url} after {tries} tries; see {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work-dir", type=Path, default=Path(".flexchaos"),
        help="the game day's work dir: its allure-report/ and experiments/ (default .flexchaos)",
    )  # fmt: skip
    parser.add_argument("--test", default="Stop VM", help="title of the experiment to shoot")
    parser.add_argument(
        "--experiment", default="test_stop_vm", help="its name: the chart comes from its folder"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args(argv)
    report = args.work_dir / "allure-report"
    awesome = (report / "awesome" / "index.html").resolve()
    ids = result_ids_by_title(awesome)
    if args.test not in ids:
        print(f"no test titled {args.test!r}; titles: {sorted(ids)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    shots = [
        shoot((report / "index.html").resolve().as_uri(), args.out / "report-summary.png",
              "1700,1050", min_bytes=20_000),
        shoot(f"{awesome.as_uri()}#{ids[args.test]}", args.out / "report-experiment.png",
              "1400,1600"),
        shoot(awesome.as_uri(), args.out / "report-overview.png", "1400,1000"),
    ]  # fmt: skip
    copies = {  # charts the run drew itself: copied as they are
        args.work_dir / "experiments" / args.experiment / "timeline.png": "report-chart.png",
        report / "failover-trend.png": "report-failover-trend.png",
    }
    for source, name in copies.items():
        if source.is_file():
            shutil.copyfile(source, args.out / name)
            shots.append(args.out / name)
    for shot in shots:
        print(f"{shot} ({shot.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
