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
# The JS SDK that tests/test_serve.py and tests/test_proxy.py drive (node is needed for those
# tests). `npm ci` replaces node_modules, stamp included, so it reruns only when the lock changes.
if command -v npm >/dev/null 2>&1; then
  js_stamp=tests/js/node_modules/.installed-$(sha1sum tests/js/package-lock.json | cut -c1-12)
  if [ ! -f "$js_stamp" ]; then
    npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
    touch "$js_stamp"
  fi
fi
