#!/usr/bin/env bash
# The test command: set-up, lint, type-check, then the whole suite (which starts its own
# `langgraph dev` on a free loopback port). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
