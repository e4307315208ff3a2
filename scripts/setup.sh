#!/usr/bin/env bash
# Creates .venv (once) and installs streamcassette with its test tools into it.
# Re-running is cheap: pip only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The demo makes its venv without pip (scripts/demo.sh); the tests need it there.
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  .venv/bin/python -m ensurepip --default-pip >/dev/null
fi
if [ ! -f .venv/.pip-upgraded ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  touch .venv/.pip-upgraded
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
# tests/ui, the browser tests: React, the two useStream hooks, esbuild and puppeteer-core,
# which never downloads a browser (they drive Debian's Chromium, below).
# `npm ci` replaces node_modules, stamp included, so it reruns only when the lock changes.
if command -v npm >/dev/null 2>&1; then
  for project in tests/js tests/js_graphs tests/ui; do
    js_stamp=$project/node_modules/.installed-$(sha1sum "$project/package-lock.json" | cut -c1-12)
    if [ ! -f "$js_stamp" ]; then
      PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$project" --no-audit --no-fund --loglevel=error
      touch "$js_stamp"
    fi
  done
fi
# Debian's Chromium for tests/ui, installed once (as root, as CI runs) when it is missing;
# the binary itself is the stamp, so re-runs cost one test.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  else
    echo "setup.sh: /usr/bin/chromium is missing and this is not root with apt-get;" \
      "install Debian's chromium for the browser tests (tests/ui)" >&2
  fi
fi
