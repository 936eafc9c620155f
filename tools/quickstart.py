"""The main job on embedded data: make the mini dataset if it is missing, evaluate the untrained
model, train it, evaluate again, and print the metrics before and after (mIoU for segmentation,
box and mask AP for detection). In the work dir it writes them to ``quickstart.json`` and, in
``quickstart.png``, a few validation images with their ground truth, the untrained and the
trained model's predictions, and the training loss (tools/quickstart_figure.py).

    python tools/quickstart.py [--config configs/upernet_vim_ti_mini-ade20k.py]
        [--work-dir work_dirs/quickstart] [--iters N] [--cfg-options key=value ...]

Mini configs: configs/*_mini-ade20k.py (segmentation), configs/*_mini-coco.py (detection).

The same runs with the tools: tools/train.py CONFIG, then tools/test.py CONFIG CHECKPOINT.
"""
import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from mmengine.config import DictAction
from mmengine.runner import Runner

import mmvim  # noqa: F401  (registers mmvim's modules; safe checkpoint loading)
from mmvim.utils.atomic_write import write_atomically
from mmvim.utils.resume import numbered_checkpoints
from mmvim.utils.tool_config import load_tool_config

sys.path.insert(0, str(Path(__file__).resolve().parent / 'data'))
from make_mini_ade20k import make_mini_ade20k  # noqa: E402
from make_mini_coco import make_mini_coco  # noqa: E402
from quickstart_figure import draw, predict  # noqa: E402  (beside this file)

# the embedded dataset each mini config reads, and the metrics it reports
MAKERS = {'MiniADE20KDataset': make_mini_ade20k, 'CheckedCocoDataset': make_mini_coco}
METRICS = ('mIoU', 'mAcc', 'coco/bbox_mAP', 'coco/segm_mAP')
SHOWN = 3        # validation images in the picture


def environment(date, argv):
    """Where and when the job ran, for quickstart.json."""
    import mmcv
    import mmengine
    import torch
    versions = {'torch': torch.__version__, 'mmcv': mmcv.__version__,
                'mmengine': mmengine.__version__}
    for package in ('mmseg', 'mmdet'):
        versions[package] = __import__(package).__version__
    device = (torch.cuda.get_device_name() if torch.cuda.is_available()
              else f'CPU ({os.cpu_count()} cores, torch {torch.get_num_threads()} threads)')
    return dict(device=device, date=date.isoformat(timespec='seconds'), **versions,
                command=' '.join(['python tools/quickstart.py', *argv[1:]]))


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'{value} is not a number of iterations (at least 1)')
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/upernet_vim_ti_mini-ade20k.py')
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--iters', type=positive_int,
                        help='training iterations, at least 1 (default: the config\'s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value (e.g. the data roots)')
    args = parser.parse_args()
    start, start_date = time.perf_counter(), datetime.datetime.now()
    cfg = load_tool_config(args.config, args.cfg_options, work_dir=args.work_dir)
    if args.iters is not None:
        cfg.train_cfg.update(max_iters=args.iters, val_interval=args.iters)
    dataset = cfg.train_dataloader.dataset
    if 'mini' not in Path(args.config).name or dataset.type not in MAKERS:
        raise SystemExit(f'{args.config} does not train on an embedded mini dataset; use '
                         'tools/train.py for real data')
    if not os.path.isdir(dataset.data_root):
        print(f'[quickstart] making the mini dataset in {dataset.data_root}', flush=True)
        MAKERS[dataset.type](dataset.data_root)

    earlier = numbered_checkpoints(cfg.work_dir)
    if earlier:
        print(f'[quickstart] {cfg.work_dir} holds an earlier run\'s checkpoints ('
              f'{", ".join(os.path.basename(p) for p in earlier)}): this run writes over them '
              '(another --work-dir keeps them)', flush=True)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    print('[quickstart] evaluating the untrained model', flush=True)
    before = runner.test()
    shown = range(min(SHOWN, len(runner.test_dataloader.dataset)))
    untrained = predict(runner, shown)
    print(f'[quickstart] training {cfg.train_cfg.max_iters} iterations', flush=True)
    runner.train()
    after = runner.test()
    minutes = (time.perf_counter() - start) / 60
    changes = ', '.join(f'{name} {before[name]:.3g} -> {after[name]:.3g}' for name in METRICS
                        if name in after and name in before)
    changes = changes or 'no metrics (no prediction passed the score threshold)'
    summary = (f'{Path(args.config).name}, untrained -> after {cfg.train_cfg.max_iters} '
               f'iterations: {changes}')
    metrics_path = os.path.join(cfg.work_dir, 'quickstart.json')
    iteration_seconds = runner.message_hub.get_scalar('train/time').data[0]
    write_atomically(metrics_path, json.dumps(dict(
        meta=environment(start_date, sys.argv), config=args.config,
        iterations=cfg.train_cfg.max_iters,
        untrained={k: round(float(v), 4) for k, v in before.items()},
        trained={k: round(float(v), 4) for k, v in after.items()}, minutes=round(minutes, 2),
        seconds_per_iteration=round(float(iteration_seconds.mean()), 3)), indent=1).encode())
    picture = os.path.join(cfg.work_dir, 'quickstart.png')
    losses = runner.message_hub.get_scalar('train/loss').data[0].tolist()
    draw(picture, runner, untrained, predict(runner, shown), losses, summary)
    print(f'\n[quickstart] {summary}; {minutes:.1f} min in all')
    print(f'[quickstart] metrics: {metrics_path}')
    print(f'[quickstart] picture (images, ground truth, untrained and trained predictions, loss): '
          f'{picture}')
    print(f'[quickstart] logs and checkpoints: {cfg.work_dir}')
    print(f'[quickstart] evaluate again: python tools/test.py {args.config} '
          f'{cfg.work_dir}/iter_{cfg.train_cfg.max_iters}.pth')


if __name__ == '__main__':
    main()
