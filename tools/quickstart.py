"""The main job on embedded data: make the mini dataset if it is missing, evaluate the untrained
UperNet + Vim-Ti, train it, evaluate again, and print both mIoUs.

    python tools/quickstart.py [--config configs/upernet_vim_ti_mini-ade20k.py]
        [--work-dir work_dirs/quickstart] [--iters N]

The same runs with the tools: tools/train.py CONFIG, then tools/test.py CONFIG CHECKPOINT.
"""
import argparse
import os
import sys
import time
from pathlib import Path

from mmengine.runner import Runner

import mmvim  # noqa: F401  (registers mmvim's modules; safe checkpoint loading)
from mmvim.utils.tool_config import load_tool_config

sys.path.insert(0, str(Path(__file__).resolve().parent / 'data'))
from make_mini_ade20k import make_mini_ade20k  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/upernet_vim_ti_mini-ade20k.py')
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--iters', type=int, help='training iterations (default: the config\'s)')
    args = parser.parse_args()
    start = time.perf_counter()
    cfg = load_tool_config(args.config, work_dir=args.work_dir)
    if args.iters:
        cfg.train_cfg.update(max_iters=args.iters, val_interval=args.iters)
    data_root = cfg.train_dataloader.dataset.data_root
    if not os.path.isdir(data_root):
        print(f'[quickstart] making the mini dataset in {data_root}', flush=True)
        make_mini_ade20k(data_root)

    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    print('[quickstart] evaluating the untrained model', flush=True)
    before = runner.test()
    print(f'[quickstart] training {cfg.train_cfg.max_iters} iterations', flush=True)
    runner.train()
    after = runner.test()
    minutes = (time.perf_counter() - start) / 60
    print(f'\n[quickstart] {Path(args.config).name}: mIoU {before["mIoU"]:.2f} untrained -> '
          f'{after["mIoU"]:.2f} after {cfg.train_cfg.max_iters} iterations '
          f'(mAcc {before["mAcc"]:.2f} -> {after["mAcc"]:.2f}); {minutes:.1f} min in all')
    print(f'[quickstart] logs and checkpoints: {cfg.work_dir}')
    print(f'[quickstart] evaluate again: python tools/test.py {args.config} '
          f'{cfg.work_dir}/iter_{cfg.train_cfg.max_iters}.pth')


if __name__ == '__main__':
    main()
