"""Train a segmentor or detector from an mmseg / mmdet config that uses mmvim.

    python tools/train.py configs/upernet_vim_s_ade20k.py [--work-dir DIR] [--resume]
        [--amp [--amp-dtype bfloat16]] [--cfg-options key=value ...] [--trust-checkpoint]
        [--launcher pytorch]

Multi-GPU: tools/dist_train.sh CONFIG GPUS [args]. Progress (iteration, loss, lr, time left) is
logged every ``default_hooks.logger.interval`` iterations; the config's ``val_interval`` evaluates.
``--resume`` continues from the newest checkpoint in the work dir that loads (damaged ones are
skipped and named); without it, a work dir that already holds checkpoints is refused, as is one
another run is writing into. docs/failure_modes.md says what survives a crash.
"""
import argparse
import logging
import os

import torch
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmvim  # noqa: F401  (registers mmvim's modules; safe checkpoint loading)
from mmvim.utils import checkpoint_dir, claim_work_dir, find_resumable_checkpoint
from mmvim.utils.tool_config import launch_rank, load_tool_config, parse_tool_args, require_data


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model with mmvim')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the newest loadable checkpoint in the work dir (or '
                             'from load_from, if the config sets it)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16',
                        help='autocast dtype with --amp (bfloat16 needs no loss scaling)')
    return parse_tool_args(parser)


def enable_amp(cfg, dtype):
    """Turn the config's OptimWrapper into mmengine's AmpOptimWrapper with ``dtype`` autocast."""
    if not torch.cuda.is_available():
        raise SystemExit('--amp needs a CUDA GPU: mmengine\'s AmpOptimWrapper does not run on CPUs')
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise SystemExit(f'--amp works with OptimWrapper, the config has {wrapper.type}')
    wrapper.type = 'AmpOptimWrapper'
    wrapper.dtype = dtype
    wrapper.loss_scale = 'dynamic' if dtype == 'float16' else dict(enabled=False)


def main():
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    require_data(cfg, ['train', 'val'] if cfg.get('val_cfg') else ['train'])
    if args.amp:
        enable_amp(cfg, args.amp_dtype)
    cfg.resume = args.resume
    if args.resume and cfg.get('load_from') is None:
        folder = checkpoint_dir(cfg)
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir, folder)
        if cfg.load_from is None:
            print_log(f'--resume: nothing to resume from, {folder} '
                      f'{"holds no checkpoint" if os.path.isdir(folder) else "does not exist"}: '
                      'starting a new run from iteration 0', logger='current',
                      level=logging.WARNING)
            cfg.resume = False             # else mmengine looks for last_checkpoint itself
    if launch_rank() == 0:
        claim_work_dir(cfg, args.resume)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
