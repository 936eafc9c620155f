"""CheckedCocoDataset on a real COCO json (the mini generator's) with one broken polygon: each kind
of break raises an error naming the json file, the annotation and the image, or, with 'skip', the
annotation is dropped with a logged warning and the image keeps its other annotations."""
import json
import re
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmvim  # noqa: F401  (registers CheckedCocoDataset)
from mmvim.datasets.bad_sample import BadSampleError
from tests.mini_data import make_mini_coco

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
ANN_FILE = 'annotations/instances_train2017.json'


@pytest.fixture
def coco_root(tmp_path):
    make_mini_coco(tmp_path, num_train=4, num_val=0)
    return tmp_path


def break_annotation(root, change):
    """Apply ``change`` to the first annotation of an image that has several; returns it."""
    path = root / ANN_FILE
    coco = json.loads(path.read_text())
    image_ids = [a['image_id'] for a in coco['annotations']]
    ann = next(a for a in coco['annotations'] if image_ids.count(a['image_id']) > 1)
    change(ann)
    path.write_text(json.dumps(coco))               # NaN is written as NaN, as json.dump does
    image = next(i for i in coco['images'] if i['id'] == ann['image_id'])
    return ann, image, image_ids.count(ann['image_id'])


def coco_dataset(root, on_bad_sample='error'):
    """CheckedCocoDataset as the mini config's train split, on ``root``."""
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(CONFIGS / '_base_/datasets/mini_coco.py')).train_dataloader.dataset
    cfg.update(data_root=f'{root}/', on_bad_sample=on_bad_sample)
    return DATASETS.build(cfg)


def set_polygon(values):
    return lambda ann: ann.update(segmentation=[values])


@pytest.mark.parametrize('change, problem', [
    (set_polygon([10.0, 10.0, 20.0, 20.0]), 'polygon has 2 points; a polygon needs at least 3'),
    (set_polygon([10.0, 10.0, 20.0, 20.0, 30.0]), r'odd number of coordinates \(5\)'),
    (set_polygon([10.0, 10.0, float('nan'), 20.0, 30.0, 30.0]), r'\[10.0, 10.0, nan, 20.0, 30.0, '
                                                                r'30.0\] has non-numeric or '
                                                                'non-finite coordinates'),
    (set_polygon([10.0, 10.0, 'x', 20.0, 30.0, 30.0]), 'non-numeric or non-finite'),
    (lambda ann: ann.update(segmentation=ann['segmentation'][0]),
     'a polygon must be a list of coordinates'),
    (lambda ann: ann.update(segmentation=[]), 'non-empty list of polygons or an RLE dict'),
])
def test_broken_polygon_is_named(coco_root, change, problem):
    """mmdet would ignore the first three silently, crash the process on the NaN (pycocotools),
    and fail on the flat list without naming the annotation."""
    ann, image, _ = break_annotation(coco_root, change)
    with pytest.raises(BadSampleError) as error:
        coco_dataset(coco_root)
    text = str(error.value)
    assert text.startswith(f'{coco_root / ANN_FILE}: annotation id {ann["id"]} (image id '
                           f'{image["id"]}, {image["file_name"]}): ')
    assert re.search(problem, text), text


def test_skip_drops_only_the_broken_annotation(coco_root, tmp_path_factory):
    log_file = tmp_path_factory.mktemp('log') / 'run.log'
    MMLogger.get_instance(f'bad_coco_{id(log_file)}', log_file=str(log_file))   # 'current'
    ann, image, count = break_annotation(coco_root, set_polygon([10.0, 10.0, 20.0, 20.0]))
    dataset = coco_dataset(coco_root, on_bad_sample='skip')
    index = next(i for i in range(len(dataset))
                 if dataset.get_data_info(i)['img_id'] == image['id'])
    sample = dataset[index]['data_samples']               # through the config's real pipeline
    assert len(dataset.get_data_info(index)['instances']) == count - 1
    assert len(sample.ignored_instances) == 0          # dropped, not kept as an ignored region
    assert f'skipped a bad sample: {coco_root / ANN_FILE}: annotation id {ann["id"]}' in \
        log_file.read_text()


@pytest.mark.parametrize('change, problem', [
    (lambda ann: ann.update(bbox=[10.0, 10.0, -5.0, 20.0]), 'has a negative width or height'),
    (lambda ann: ann.update(bbox=[10.0, 10.0, 5.0, -0.5]), 'has a negative width or height'),
    (lambda ann: ann.update(bbox=[10.0, float('inf'), 5.0, 5.0]), 'non-numeric or non-finite'),
    (lambda ann: ann.update(bbox=[10.0, 10.0, 5.0]), r'bbox must be \[x, y, width, height\]'),
    (lambda ann: ann.update(category_id=99), r"category id 99 is not among the json's "
                                             r'categories \(ids \[1, 2, 3\]\)'),
])
def test_bad_box_or_category_is_named(coco_root, change, problem):
    """mmdet drops these without a word."""
    ann, image, _ = break_annotation(coco_root, change)
    with pytest.raises(BadSampleError, match=problem) as error:
        coco_dataset(coco_root)
    assert str(error.value).startswith(f'{coco_root / ANN_FILE}: annotation id {ann["id"]} '
                                       f'(image id {image["id"]}, {image["file_name"]}): ')


def test_skip_counts_the_dropped_annotations(coco_root, tmp_path_factory):
    log_file = tmp_path_factory.mktemp('log') / 'run.log'
    MMLogger.get_instance(f'bad_coco_count_{id(log_file)}', log_file=str(log_file))
    ann, _, count = break_annotation(coco_root, lambda ann: ann.update(category_id=99))
    coco_dataset(coco_root, on_bad_sample='skip')
    log = log_file.read_text()
    assert f'annotation id {ann["id"]}' in log
    assert f'CheckedCocoDataset: dropped 1 bad annotations of {coco_root / ANN_FILE}' in log


def test_categories_left_out_by_the_config_are_not_errors(coco_root):
    """A config that trains on some of the json's classes drops the others, as mmdet does."""
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(CONFIGS / '_base_/datasets/mini_coco.py')).train_dataloader.dataset
    cfg.update(data_root=f'{coco_root}/', metainfo=dict(classes=('disc', )))
    dataset = DATASETS.build(cfg)
    labels = {instance['bbox_label'] for i in range(len(dataset))
              for instance in dataset.get_data_info(i)['instances']}
    assert labels == {0}
