#!/usr/bin/env bash
# The main job: play a bundled recording of the weather agent offline, in real time, exactly
# as the SDK saw it live. Extra arguments go to `streamcassette play`.
#
# Installs only what `play` needs (streamcassette's dependencies without pytest, syrupy,
# DeepDiff and httpx-sse, which play never imports; no test extras, no npm) into .venv (or
# $STREAMCASSETTE_DEMO_VENV), once: a venv that scripts/setup.sh already filled is used as
# it is. To show the first line soon on a fresh machine, the dependencies are
# installed straight from pyproject.toml without byte-compiling them up front, and
# streamcassette runs from this checkout (on PYTHONPATH) instead of being built into a wheel
# first (pip's isolated build of an editable install costs seconds). The venv is made without
# its own pip when this Python's pip can install into it (`pip --python`, pip 22.3+): putting
# pip into a new venv takes seconds too; scripts/setup.sh adds it when the tests need it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${STREAMCASSETTE_DEMO_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv --without-pip "$VENV"
fi
hash=$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$VENV/.installed-$hash" ] && [ ! -f "$VENV/.demo-installed-$hash" ]; then
  if "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    pip=("$VENV/bin/python" -m pip)
  elif "$PYTHON" -m pip --python "$VENV/bin/python" --version >/dev/null 2>&1; then
    pip=("$PYTHON" -m pip --python "$VENV/bin/python")
  else
    "$VENV/bin/python" -m ensurepip --default-pip >/dev/null
    pip=("$VENV/bin/python" -m pip)
  fi
  pip_install=("${pip[@]}" install --quiet --disable-pip-version-check --no-compile)
  # play needs neither pytest, syrupy nor DeepDiff (only the plugin, snapshots and diff
  # explanations import them), nor httpx-sse (play reads SSE with its own codec): leaving
  # them out saves a third of the installation.
  if requirements=$("$VENV/bin/python" -c '
import re, tomllib
NOT_FOR_PLAY = {"pytest", "syrupy", "deepdiff", "httpx-sse"}
for requirement in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    if re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower() not in NOT_FOR_PLAY:
        print(requirement)
' 2>/dev/null); then
    "${pip_install[@]}" -r /dev/stdin <<<"$requirements"
  else  # Python 3.10 has no tomllib: let pip read pyproject.toml itself
    "${pip_install[@]}" -e .
  fi
  rm -f "$VENV"/.demo-installed-*
  touch "$VENV/.demo-installed-$hash"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m streamcassette.cli play "$@"
