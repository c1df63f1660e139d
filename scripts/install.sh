#!/usr/bin/env bash
# Creates .venv (if needed) and installs flexchaos with its test tools into it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
# The HTML report's generator (npm `allure` 3, pinned by reports/package-lock.json), installed
# into a cache outside the checkout ($FLEXCHAOS_NPM_CACHE, else ~/.cache/flexchaos); skipped
# without npm (`flexchaos report` then says how to get the report otherwise).
if command -v npm >/dev/null 2>&1; then
  timeout 300 .venv/bin/python -m reports.allure_tool >/dev/null \
    || echo "warning: the report generator did not install; flexchaos report retries on first use" >&2
fi
