#!/usr/bin/env bash
# Train UperNet Vim-S and DeiT-S at 512x512 crops with bf16 AMP on one GPU, on the mini dataset
# generated at 512x512, and print training images/s, peak memory and the loss curve.
#
#   bash tools/analysis/gpu_seg_train.sh OUT_DIR [ITERS]
#
# Needs mmcv (its CPU ops are enough for segmentation), mmseg and mmengine importable, and the GPU.
set -euo pipefail
out=${1:?output directory}; iters=${2:-200}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
mkdir -p "$out"
python3 tools/data/make_mini_ade20k.py data/mini_ade20k_512 --size 512 --train 96 --val 8
for model in vim_s deit_s; do
  data=data/mini_ade20k_512
  python3 tools/train.py "configs/upernet_${model}_ade20k.py" --amp --amp-dtype bfloat16 \
    --work-dir "$out/$model" --cfg-options model.backbone.init_cfg=None \
    train_dataloader.dataset.data_root=$data val_dataloader.dataset.data_root=$data \
    test_dataloader.dataset.data_root=$data train_dataloader.num_workers=8 \
    train_dataloader.persistent_workers=True val_dataloader.num_workers=2 \
    train_cfg.max_iters="$iters" train_cfg.val_interval="$iters" \
    param_scheduler.0.end=20 param_scheduler.1.begin=20 param_scheduler.1.end="$iters" \
    default_hooks.logger.interval=10 default_hooks.checkpoint.interval=100000 \
    > "$out/$model.log" 2>&1 || { tail -40 "$out/$model.log"; exit 1; }
done
python3 - "$out" <<'PY'
import json, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
print(f'{"model":8s} {"images/s":>9s} {"ms/iter":>8s} {"peak MiB":>9s} {"loss first":>10s} '
      f'{"loss last":>9s} {"mIoU":>6s}')
for model in ('vim_s', 'deit_s'):
    scalars = next((out / model).glob('*/vis_data/scalars.json'))
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    train = [r for r in rows if 'loss' in r]
    times = [r['time'] for r in train[len(train) // 4:]]           # after warm-up
    batch = 8
    miou = next((r['mIoU'] for r in rows if 'mIoU' in r), float('nan'))
    assert all(r['loss'] == r['loss'] for r in train), f'{model}: NaN loss'
    print(f'{model:8s} {batch / statistics.median(times):9.1f} '
          f'{1000 * statistics.median(times):8.1f} {max(r["memory"] for r in train):9d} '
          f'{train[0]["loss"]:10.3f} {train[-1]["loss"]:9.3f} {miou:6.2f}')
PY
