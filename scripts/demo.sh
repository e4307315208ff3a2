#!/usr/bin/env bash
# The main job: set-up, then play a bundled recording of the weather agent offline, in
# real time, exactly as the SDK saw it live. Extra arguments go to `streamcassette play`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamcassette play "$@"
