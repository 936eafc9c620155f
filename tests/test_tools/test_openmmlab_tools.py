"""mmseg's and mmdet's own tools/train.py and tools/test.py (the copies in their wheels) on
mmvim's mini configs: ``custom_imports`` in the configs is all they need."""
from pathlib import Path

import pytest

from tests.test_tools.test_det_tools import coco_options
from tests.test_tools.test_seg_tools import SMALL, data_options, run_tool

SITE = {package: Path(__import__(package).__file__).parent / '.mim' / 'tools'
        for package in ('mmseg', 'mmdet')}
# two iterations, no validation (test.py evaluates the checkpoint)
TRAIN_OPTIONS = ('train_cfg.max_iters=2', 'default_hooks.logger.interval=1',
                 'default_hooks.checkpoint.interval=2', 'val_cfg=None', 'val_dataloader=None',
                 'val_evaluator=None')


def train_and_test(package, config, options, tmp_path):
    """Train two iterations with ``package``'s train.py, evaluate the checkpoint with its
    test.py; returns the test log."""
    work_dir = tmp_path / 'work'
    result = run_tool(SITE[package] / 'train.py', config, '--work-dir', work_dir,
                      '--cfg-options', *options, *TRAIN_OPTIONS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Iter(train) [2/2]' in result.stdout + result.stderr
    result = run_tool(SITE[package] / 'test.py', config, work_dir / 'iter_2.pth', '--work-dir',
                      tmp_path / 'eval', '--cfg-options', *options)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.slow
def test_mmseg_tools_on_the_mini_config(mini_data, tmp_path):
    log = train_and_test('mmseg', 'configs/upernet_vim_ti_mini-ade20k.py',
                         data_options(mini_data) + SMALL, tmp_path)
    assert 'mIoU:' in log and 'striped disc' in log


@pytest.mark.slow
def test_mmdet_tools_on_the_mini_config(mini_coco, tmp_path):
    log = train_and_test('mmdet', 'configs/cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py',
                         coco_options(mini_coco) + ['model.backbone.depth=2',
                                                    'model.backbone.out_indices=[1]'], tmp_path)
    assert 'coco/bbox_mAP:' in log and 'coco/segm_mAP:' in log
