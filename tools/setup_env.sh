#!/usr/bin/env bash
# Create (or update) the project's virtual environment with the real OpenMMLab 2.x stack.
#
#   bash tools/setup_env.sh            # venv in ./.venv (override with MMVIM_VENV=/path)
#
# Idempotent: a stamp of the requirement files lets a second run finish in seconds, and pip's wheel
# cache makes a rebuild of mmcv after the first one take seconds, not minutes.
# Why each step is the way it is: docs/install.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${MMVIM_VENV:-$root/.venv}
python=${PYTHON:-python3}
req=$root/requirements
stamp=$venv/.mmvim-setup-stamp

step() { printf '\n[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '\n[setup] FAILED: %s\n' "$*" >&2; exit 1; }

wanted_stamp=$(cat "$req"/*.txt "$root/setup.py" | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$wanted_stamp" ]] \
    && "$venv/bin/python" -c 'import mmvim, mmcv._ext, mmseg, mmdet' 2>/dev/null; then
  echo "[setup] environment $venv is up to date"
  exit 0
fi

if [[ ! -x $venv/bin/python ]]; then
  step "creating virtual environment $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv" || die "could not create a virtual environment with $python"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
constraints=(-c "$req/constraints.txt")

step "installing torch (CPU build pinned by requirements/constraints.txt) and build tools"
"${pip[@]}" install -q "${constraints[@]}" torch -r "$req/build.txt" \
  || die "pip could not install torch and the build tools (see the messages above)"

has_mmcv_ops() { "$venv/bin/python" -c 'import mmcv, mmcv._ext; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; }
if has_mmcv_ops; then
  step "mmcv 2.1.0 with compiled ops is already installed"
else
  # mmcv 2.1.0 is only an sdist on PyPI. Built in an isolated environment it cannot see torch and
  # installs without its ops, silently; so: no build isolation, ops forced on, torch already here.
  step "building mmcv 2.1.0 with its compiled ops (first time: 10-20 min on 2 cores; cached after)"
  export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}
  "${pip[@]}" install "${constraints[@]}" --no-build-isolation mmcv==2.1.0 \
    || die "building mmcv 2.1.0 failed (a compiler and Python headers are needed; see above)"
  if ! has_mmcv_ops; then
    # A wheel built without ops may sit in pip's cache (an earlier build without MMCV_WITH_OPS).
    step "the installed mmcv has no compiled ops; rebuilding without pip's wheel cache"
    "${pip[@]}" install "${constraints[@]}" --no-build-isolation --no-cache-dir --force-reinstall \
      --no-deps mmcv==2.1.0 || die "rebuilding mmcv 2.1.0 failed"
    has_mmcv_ops || die "mmcv 2.1.0 installed but 'import mmcv._ext' fails: its ops were not built"
  fi
fi

step "installing mmengine, mmsegmentation, mmdet, triton and the test tools"
"${pip[@]}" install -q "${constraints[@]}" -r "$req/runtime.txt" -r "$req/tests.txt" \
  || die "pip could not install the runtime requirements (see above)"

step "installing mmvim in editable mode"
"${pip[@]}" install -q "${constraints[@]}" --no-build-isolation --no-deps -e "$root" \
  || die "pip install -e $root failed"

step "checking the stack"
"$venv/bin/python" - <<'EOF' || die "the environment does not import cleanly (see above)"
import torch, triton, mmengine, mmcv, mmcv.ops, mmseg, mmdet, mmvim
print(f'torch {torch.__version__}, triton {triton.__version__}, mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__} (ops built), mmseg {mmseg.__version__}, mmdet {mmdet.__version__}, '
      f'mmvim {mmvim.__version__}')
EOF
echo "$wanted_stamp" > "$stamp"
step "environment ready: $venv"
