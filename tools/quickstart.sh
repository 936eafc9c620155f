#!/usr/bin/env bash
# Set up the project environment (tools/setup_env.sh) and run the main job on embedded data.
#
#   bash tools/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup_env.sh"
venv=${MMVIM_VENV:-$root/.venv}
cd "$root"
exec "$venv/bin/python" tools/quickstart.py "$@"
