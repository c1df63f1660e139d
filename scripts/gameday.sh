#!/usr/bin/env bash
# Installs flexchaos into .venv (and the report tool with npm when Node is present), then runs
# the default game day on the built-in emulator and builds the report. Extra arguments go to
# `flexchaos gameday`, e.g. `bash scripts/gameday.sh -- --dry-run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/flexchaos gameday "$@"
