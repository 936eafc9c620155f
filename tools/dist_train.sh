#!/usr/bin/env bash
# Train on several GPUs of one machine: tools/dist_train.sh CONFIG GPUS [train.py args]
# NNODES, NODE_RANK, PORT and MASTER_ADDR configure a multi-machine run (torchrun's meanings);
# PYTHON picks the interpreter (default: python on PATH). Without CUDA the processes train on CPUs.
set -euo pipefail
if [[ $# -lt 2 || ! $2 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: tools/dist_train.sh CONFIG GPUS [train.py args]  (GPUS: processes on this machine," \
    "e.g. 4; got: $*)" >&2
  exit 2
fi
config=$1; gpus=$2; shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHONPATH="$root:${PYTHONPATH:-}" exec "${PYTHON:-python}" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --nproc_per_node="$gpus" --master_port="${PORT:-29500}" \
  "$root/tools/train.py" "$config" --launcher pytorch "$@"
