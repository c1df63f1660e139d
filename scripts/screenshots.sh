#!/usr/bin/env bash
# Screenshots for the README and docs/reports.md, from a current run: runs the default game day
# on the emulator (unless --use DIR names the work dir of a run already made), then shoots its
# run summary, one experiment's page and the Awesome overview in headless Chromium and copies
# that experiment's timeline chart, all into docs/img/.
#
#   bash scripts/screenshots.sh                 # a fresh game day in a temporary work dir
#   bash scripts/screenshots.sh -- --time-scale 0.1   # options for the game days (after --)
#   bash scripts/screenshots.sh --use .flexchaos
#
# Needs chromium (Debian: apt-get install -y chromium) and Node.js for the report.
set -euo pipefail
cd "$(dirname "$0")/.."
work=""
if [[ "${1:-}" == "--use" ]]; then
    work="$2"
else
    [[ "${1:-}" == "--" ]] && shift
    work="$(mktemp -d)/work"
    # two runs, so the summary has a previous run to compare with and the history two points
    .venv/bin/flexchaos gameday --work-dir "$work" -- --seed 7 "$@" || true
    .venv/bin/flexchaos gameday --work-dir "$work" -- --seed 7 "$@" || true
fi
command -v chromium >/dev/null || { echo "chromium not found: apt-get install -y chromium" >&2; exit 2; }
.venv/bin/python -m reports.screenshots --work-dir "$work" --test "Stop VM" \
    --experiment test_stop_vm --out docs/img
echo "work dir: $work"
