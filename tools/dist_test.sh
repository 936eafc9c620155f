#!/usr/bin/env bash
# Evaluate on several GPUs of one machine: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# NNODES, NODE_RANK, PORT and MASTER_ADDR configure a multi-machine run (torchrun's meanings);
# PYTHON picks the interpreter (default: python on PATH). Without CUDA the processes run on CPUs.
set -euo pipefail
if [[ $# -lt 3 || ! $3 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]  (GPUS: processes on" \
    "this machine, e.g. 4; got: $*)" >&2
  exit 2
fi
config=$1; checkpoint=$2; gpus=$3; shift 3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHONPATH="$root:${PYTHONPATH:-}" exec "${PYTHON:-python}" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --nproc_per_node="$gpus" --master_port="${PORT:-29500}" \
  "$root/tools/test.py" "$config" "$checkpoint" --launcher pytorch "$@"
