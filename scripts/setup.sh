#!/usr/bin/env bash
# Creates .venv (once) and installs streamcassette with its test tools into it.
# Re-running is cheap: pip only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Node projects the tests use (node is needed for those tests): tests/js, the JS SDK that
# tests/test_serve.py and tests/test_proxy.py drive; tests/js_graphs, LangGraph.js graphs and
# the JavaScript LangGraph server (`@langchain/langgraph-cli`) that the JS tests start.
# `npm ci` replaces node_modules, stamp included, so it reruns only when the lock changes.
if command -v npm >/dev/null 2>&1; then
  for project in tests/js tests/js_graphs; do
    js_stamp=$project/node_modules/.installed-$(sha1sum "$project/package-lock.json" | cut -c1-12)
    if [ ! -f "$js_stamp" ]; then
      npm ci --prefix "$project" --no-audit --no-fund --loglevel=error
      touch "$js_stamp"
    fi
  done
fi
