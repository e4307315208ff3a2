#!/usr/bin/env bash
# The main job: play a bundled recording of the weather agent offline, in real time, exactly
# as the SDK saw it live. Extra arguments go to `streamcassette play`.
#
# Installs only what `play` needs (streamcassette and its own dependencies: no test extras,
# no npm) into .venv (or $STREAMCASSETTE_DEMO_VENV), once: a venv that scripts/setup.sh
# already filled is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${STREAMCASSETTE_DEMO_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
hash=$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$VENV/.installed-$hash" ] && [ ! -f "$VENV/.demo-installed-$hash" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e .
  rm -f "$VENV"/.demo-installed-*
  touch "$VENV/.demo-installed-$hash"
fi
exec "$VENV/bin/streamcassette" play "$@"
