"""mmseg's and mmdet's inference APIs on every shipped config, for an image file and for a numpy
array: ``MMSegInferencer`` and ``init_model`` + ``inference_model``; ``DetInferencer`` and
``init_detector`` + ``inference_detector``. They find the test pipeline's loaders by their
standard type names, so the configs must keep them (mmvim's checks live in its datasets).

Random weights; every config with its pipelines as shipped and a narrow model
(:func:`tests.narrow_configs.narrow`)."""
import numpy as np
import pytest
from PIL import Image

import mmvim  # noqa: F401
from tests.narrow_configs import CONFIGS, narrow

SEG_CONFIGS = sorted(p.name for p in CONFIGS.glob('upernet_*.py'))
DET_CONFIGS = sorted(p.name for p in CONFIGS.glob('cascade-mask-rcnn_*.py'))
IMAGE_SHAPE = (45, 70, 3)              # odd sides, not square


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """(path of a JPEG, the same image as an array in BGR order, as mmcv loads it)."""
    pixels = np.random.default_rng(0).integers(0, 256, IMAGE_SHAPE, dtype=np.uint8)
    path = tmp_path_factory.mktemp('images') / 'odd.jpg'
    Image.fromarray(pixels).save(path)
    return str(path), np.ascontiguousarray(pixels[..., ::-1])


def check_seg(pred):
    assert tuple(pred.shape[-2:]) == IMAGE_SHAPE[:2]


@pytest.mark.slow
@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_mmseg_apis(name, image):
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    inferencer = MMSegInferencer(model=narrow(name), device='cpu')
    model = init_model(narrow(name), device='cpu')
    for source in image:
        check_seg(inferencer(source)['predictions'])
        check_seg(inference_model(model, source).pred_sem_seg.data)


@pytest.mark.slow
@pytest.mark.parametrize('name', DET_CONFIGS)
def test_mmdet_apis(name, image):
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    inferencer = DetInferencer(model=narrow(name), device='cpu', show_progress=False)
    model = init_detector(narrow(name), device='cpu')
    for source in image:
        prediction = inferencer(source)['predictions'][0]
        assert len(prediction['labels']) == len(prediction['bboxes']) == len(prediction['masks'])
        result = inference_detector(model, source)
        boxes = result.pred_instances.bboxes
        assert result.metainfo['ori_shape'] == IMAGE_SHAPE[:2]
        # clipped to the image, not to a padded canvas
        assert (boxes[:, 2] <= IMAGE_SHAPE[1]).all() and (boxes[:, 3] <= IMAGE_SHAPE[0]).all()
        assert result.pred_instances.masks.shape[1:] == IMAGE_SHAPE[:2]
