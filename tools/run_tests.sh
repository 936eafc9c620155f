#!/usr/bin/env bash
# Set up the project environment (tools/setup_env.sh) and run the test suite.
#
#   bash tools/run_tests.sh            # everything that runs on this machine (cuda tests skip)
#   bash tools/run_tests.sh -m cuda    # extra pytest arguments pass through
#
# Exits non-zero on any failure, and also when pytest collects no test at all.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup_env.sh"
venv=${MMVIM_VENV:-$root/.venv}
cd "$root"
echo "[tests $(date +%H:%M:%S)] running pytest"
status=0
"$venv/bin/python" -m pytest -q -ra --durations=10 "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "[tests] FAILED: pytest collected no tests" >&2
  exit 1
fi
exit $status
