"""Evaluate a checkpoint: mIoU / mAcc / aAcc with a per-class table (segmentation), or box and
mask AP (detection), as the config's test_evaluator says.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show-dir DIR]
        [--cfg-options key=value ...] [--trust-checkpoint] [--launcher pytorch]

Multi-GPU: tools/dist_test.sh CONFIG CHECKPOINT GPUS [args].
"""
import argparse
import os

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import mmvim  # noqa: F401  (registers mmvim's modules; safe checkpoint loading)
from mmvim.utils import check_state_dict_fits, checkpoint_for_tool
from mmvim.utils.tool_config import load_tool_config, parse_tool_args, require_data


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint with mmvim')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the metrics json goes')
    parser.add_argument('--out', help='directory for the raw predictions (offline evaluation)')
    parser.add_argument('--show-dir', help='directory for images painted with the predictions')
    return parse_tool_args(parser)


def main():
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint file not found: {args.checkpoint}')
    require_data(cfg, ['test'])
    checkpoint = checkpoint_for_tool(args.checkpoint)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        if 'visualization' not in cfg.default_hooks:
            raise SystemExit('--show-dir needs a visualization hook in default_hooks')
        cfg.default_hooks.visualization.draw = True
        cfg.visualizer.save_dir = args.show_dir
    if args.out:
        if cfg.test_evaluator.get('type') == 'IoUMetric':
            cfg.test_evaluator.update(output_dir=args.out, keep_results=True)
        else:
            cfg.test_evaluator.update(outfile_prefix=os.path.join(args.out, 'results'))
    runner = Runner.from_cfg(cfg)
    # a checkpoint of another model or variant stops here, listing the keys and shapes that
    # differ: mmengine's load_from (which loads after the hooks' before_run, as EMAHook needs)
    # would only log them and evaluate random weights
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    check_state_dict_fits(model, checkpoint.get('state_dict', checkpoint), args.checkpoint,
                          f'model of {args.config}')
    del checkpoint
    runner.test()


if __name__ == '__main__':
    main()
