#!/usr/bin/env bash
# Creates .venv (if needed) and installs flexchaos with its test tools into it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
# The HTML report's generator (npm `allure` 3, pinned in reports/package-lock.json), local to
# reports/; skipped without npm (`flexchaos report` then says how to get the report otherwise).
if command -v npm >/dev/null 2>&1 && [ ! -f reports/node_modules/allure/cli.js ]; then
  timeout 300 npm ci --prefix reports --no-audit --no-fund --loglevel=error \
    || echo "warning: npm ci --prefix reports failed; flexchaos report retries on first use" >&2
fi
