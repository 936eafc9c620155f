"""Every shipped config evaluates images of any size and aspect with mmengine's own test loop and
metric: odd sides, wider than 4:1 (the ADE20K configs failed there: a slide-inference crop off
the patch grid), 1x1 for detection; an image the pipeline cannot load is named.

Random weights, narrow models (tests/narrow_configs.py): the pipelines, the data preprocessors
and the test settings are the configs' own."""
import json

import numpy as np
import pytest
from mmengine.runner import Runner
from PIL import Image

import mmvim  # noqa: F401
from tests.narrow_configs import CONFIGS, narrow

SIZES = [(2, 2), (3, 7), (45, 150), (300, 20)]     # (height, width)
# One config of each family: narrowed, the others are the same test pipeline, data preprocessor
# and test settings on the same narrow model (test_every_config_is_covered_and_siblings_... checks
# it).
SEG_CONFIGS = ['upernet_vim_ti_ade20k.py', 'upernet_deit_ti_ade20k.py',
               'upernet_vim_ti_mini-ade20k.py']
DET_CONFIGS = ['cascade-mask-rcnn_vim-ti_vitdet_coco.py',
               'cascade-mask-rcnn_deit-ti_vitdet_coco.py',
               'cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py']
SIBLINGS = {'upernet_vim_s_ade20k.py': 'upernet_vim_ti_ade20k.py',
            'upernet_deit_s_ade20k.py': 'upernet_deit_ti_ade20k.py',
            'upernet_deit_ti_mini-ade20k.py': 'upernet_vim_ti_mini-ade20k.py',
            'cascade-mask-rcnn_vim-s_vitdet_coco.py': 'cascade-mask-rcnn_vim-ti_vitdet_coco.py',
            'cascade-mask-rcnn_deit-ti_vitdet_mini-coco.py':
            'cascade-mask-rcnn_vim-ti_vitdet_mini-coco.py'}


def write_image(path, size, rng):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)


def ade_layout(root, sizes, num_classes):
    """Images and label maps of ``sizes`` in ADE20K's validation layout."""
    rng = np.random.default_rng(0)
    for i, size in enumerate(sizes):
        write_image(root / 'images' / 'validation' / f'odd_{i}.jpg', size, rng)
        labels = rng.integers(0, num_classes + 1, size, dtype=np.uint8)
        (root / 'annotations' / 'validation').mkdir(parents=True, exist_ok=True)
        Image.fromarray(labels).save(root / 'annotations' / 'validation' / f'odd_{i}.png')
    return root


def ade_data(cfg, root):
    cfg.test_dataloader.dataset.update(
        data_root=str(root),
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'))


def coco_layout(root, sizes, classes):
    """Images of ``sizes`` and a COCO json with one box in each image of 8 pixels or more."""
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i, (height, width) in enumerate(sizes):
        write_image(root / 'val2017' / f'odd_{i}.jpg', (height, width), rng)
        images.append(dict(id=i, file_name=f'odd_{i}.jpg', height=height, width=width))
        if min(height, width) >= 8:
            w, h = width / 2, height / 2
            annotations.append(dict(id=i, image_id=i, category_id=1, bbox=[1, 1, w, h],
                                    area=w * h, iscrowd=0,
                                    segmentation=[[1, 1, 1 + w, 1, 1 + w, 1 + h, 1, 1 + h]]))
    categories = [dict(id=k + 1, name=name) for k, name in enumerate(classes)]
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'instances_val2017.json').write_text(json.dumps(
        dict(images=images, annotations=annotations, categories=categories)))
    return root


def test_every_config_is_covered_and_siblings_test_the_same_way():
    shipped = {p.name for p in CONFIGS.glob('*.py')}
    assert shipped == set(SEG_CONFIGS) | set(DET_CONFIGS) | set(SIBLINGS)
    for name, tested in SIBLINGS.items():
        cfg, ref = narrow(name), narrow(tested)
        assert cfg.test_dataloader.dataset.pipeline == ref.test_dataloader.dataset.pipeline, name
        assert cfg.model.data_preprocessor == ref.model.data_preprocessor, name
        assert cfg.model.test_cfg == ref.model.test_cfg, name


def evaluate(cfg, tmp_path):
    cfg.work_dir = str(tmp_path / 'work')
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.default_hooks.visualization.draw = False
    return Runner.from_cfg(cfg).test()


@pytest.mark.slow
@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_seg_config_evaluates_images_of_any_size(name, tmp_path):
    cfg = narrow(name)
    num_classes = cfg.model.decode_head.num_classes
    ade_data(cfg, ade_layout(tmp_path / 'data', SIZES, num_classes))
    assert 'mIoU' in evaluate(cfg, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize('name', DET_CONFIGS)
def test_det_config_evaluates_images_of_any_size(name, tmp_path):
    cfg = narrow(name)
    from mmdet.datasets import CocoDataset
    classes = cfg.test_dataloader.dataset.get('metainfo', CocoDataset.METAINFO)['classes']
    root = coco_layout(tmp_path / 'data', [(1, 1)] + SIZES, classes)
    ann_file = str(root / 'annotations' / 'instances_val2017.json')
    cfg.test_dataloader.dataset.update(data_root=f'{root}/')
    cfg.test_evaluator.ann_file = ann_file
    cfg.model.test_cfg.rcnn.score_thr = 0.0    # random weights: keep predictions to evaluate
    metrics = evaluate(cfg, tmp_path)
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' in metrics


@pytest.mark.parametrize('size', [(1, 5000), (1, 1), (7, 1)])
def test_image_the_pipeline_cannot_load_is_named(size, tmp_path):
    """1x5000 rescales to 0x2048 in the ADE20K test pipeline's Resize; mmseg's LoadAnnotations
    squeezes a label map with a side of one pixel into fewer dimensions and fails on it."""
    cfg = narrow('upernet_vim_ti_ade20k.py')
    root = tmp_path / 'data'
    ade_data(cfg, ade_layout(root, [size], 150))
    image, annotation = (root / 'images/validation/odd_0.jpg',
                         root / 'annotations/validation/odd_0.png')
    with pytest.raises(RuntimeError, match='CheckedADE20KDataset: the data pipeline failed on '
                                           f'sample 0 \\(image {image}, annotation {annotation}'):
        evaluate(cfg, tmp_path)
