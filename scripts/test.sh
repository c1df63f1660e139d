#!/usr/bin/env bash
# Installs everything the tests need, then runs the linter and the test suite (tests/ only:
# a plain test run never starts a game day).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest tests "$@"
