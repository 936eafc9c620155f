"""The detection tools end to end on the embedded mini COCO data: generator, train.py, test.py."""
import json
from pathlib import Path

from tests.mini_data import make_mini_coco
from tests.test_tools.test_seg_tools import data_options, run_tool

REPO = Path(__file__).resolve().parents[2]
MINI_CONFIG = 'configs/cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py'


def test_generator_is_deterministic_and_valid_coco(tmp_path):
    from pycocotools.coco import COCO
    make_mini_coco(tmp_path / 'a', num_train=3, num_val=2)
    make_mini_coco(tmp_path / 'b', num_train=3, num_val=2)
    for split in ('train2017', 'val2017'):
        a = (tmp_path / 'a' / 'annotations' / f'instances_{split}.json').read_bytes()
        assert a == (tmp_path / 'b' / 'annotations' / f'instances_{split}.json').read_bytes()
        for image in (tmp_path / 'a' / split).iterdir():
            assert image.read_bytes() == (tmp_path / 'b' / split / image.name).read_bytes()
    coco = COCO(str(tmp_path / 'a' / 'annotations' / 'instances_train2017.json'))
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann)
        assert abs(mask.sum() - ann['area']) / ann['area'] < 0.1     # polygon area ~ raster
        x, y, w, h = ann['bbox']
        ys, xs = mask.nonzero()
        assert abs(xs.min() - x) <= 1.5 and abs(xs.max() + 1 - (x + w)) <= 1.5


def coco_options(root):
    """``--cfg-options`` entries pointing every dataloader and evaluator of the mini COCO config
    at ``root``."""
    ann_file = root / 'annotations' / 'instances_val2017.json'
    return [*data_options(f'{root}/'), f'val_evaluator.ann_file={ann_file}',
            f'test_evaluator.ann_file={ann_file}']


def test_train_then_test_on_mini_coco(mini_coco, tmp_path):
    work_dir = tmp_path / 'work'
    options = coco_options(mini_coco) + ['model.backbone.depth=2',
                                         'model.backbone.out_indices=[1]']
    result = run_tool('tools/train.py', MINI_CONFIG, '--work-dir', work_dir, '--cfg-options',
                      'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                      'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2',
                      *options)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work_dir / 'iter_2.pth').is_file()
    # after two iterations no score passes mmdet's 0.05: keep every box so AP is computed
    result = run_tool('tools/test.py', MINI_CONFIG, work_dir / 'iter_2.pth', '--work-dir',
                      tmp_path / 'eval', '--out', tmp_path / 'out', '--cfg-options', *options,
                      'model.test_cfg.rcnn.score_thr=0.0')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    for text in ('Evaluating bbox', 'Evaluating segm', 'Average Precision  (AP) @[ IoU=0.50:0.95',
                 'coco/bbox_mAP', 'coco/segm_mAP'):
        assert text in log, text
    assert json.loads((tmp_path / 'out' / 'results.bbox.json').read_text()) is not None


def test_coco_config_without_data_says_where_data_goes(tmp_path):
    result = run_tool('tools/test.py', 'configs/cascade-mask-rcnn_vim-ti_vitdet_coco.py',
                      tmp_path / 'x.pth', '--cfg-options',
                      f'test_dataloader.dataset.data_root={tmp_path}/coco/')
    assert result.returncode != 0 and 'checkpoint file not found' in result.stderr
    (tmp_path / 'x.pth').write_bytes(b'')
    result = run_tool('tools/test.py', 'configs/cascade-mask-rcnn_vim-ti_vitdet_coco.py',
                      tmp_path / 'x.pth', '--cfg-options',
                      f'test_dataloader.dataset.data_root={tmp_path}/coco/')
    assert result.returncode != 0
    assert 'CocoDataset (test split) not found' in result.stderr
    assert 'docs/datasets.md' in result.stderr and 'Traceback' not in result.stderr
