"""Checked loading on real files through the mini and ADE20K datasets and their configs' pipelines:
a truncated, empty or missing image, a truncated annotation and an annotation of the wrong size
each raise an error naming the file and the problem, or are skipped with a logged warning; any
other failure of the pipeline names the sample's files."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from PIL import Image

import mmvim  # noqa: F401  (registers the checked datasets)
from mmvim.datasets.bad_sample import BadSampleError
from tests.mini_data import make_mini_ade20k

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
IMAGES, ANNOTATIONS = 'images/training', 'annotations/training'


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.fixture
def mini_root(tmp_path):
    make_mini_ade20k(tmp_path, num_train=3, num_val=0)
    return tmp_path


def mini_dataset(root, on_bad_sample='error', test_mode=False, dataset_type='MiniADE20KDataset',
                 pipeline=None):
    """A checked dataset on the mini data (ADE20K's layout) with the mini config's train
    pipeline."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    if pipeline is None:
        pipeline = Config.fromfile(str(CONFIGS / '_base_/datasets/mini_ade20k.py')).train_pipeline
    return DATASETS.build(dict(type=dataset_type, data_root=str(root), test_mode=test_mode,
                               on_bad_sample=on_bad_sample, pipeline=pipeline,
                               data_prefix=dict(img_path=IMAGES, seg_map_path=ANNOTATIONS)))


def sample_path(root, folder, index):
    suffix = '.jpg' if folder == IMAGES else '.png'
    return root / folder / f'mini_training_{index:05d}{suffix}'


@pytest.mark.parametrize('damage, problem', [
    (truncate, r'cannot decode image {path} \(\d+ bytes; truncated, corrupt or not an image\?\)'),
    (lambda path: path.write_bytes(b''), r'image {path} is empty \(0 bytes\)'),
    (lambda path: path.unlink(), r'cannot read image {path}: .*No such file'),
])
def test_bad_image_is_named(mini_root, damage, problem):
    dataset = mini_dataset(mini_root)
    path = sample_path(mini_root, IMAGES, 1)
    damage(path)
    with pytest.raises(BadSampleError, match=problem.format(path=path)):
        dataset[1]
    assert dataset[0]['inputs'].shape == (3, 128, 128)               # the others still load


def test_truncated_annotation_is_named(mini_root):
    dataset = mini_dataset(mini_root)
    path = sample_path(mini_root, ANNOTATIONS, 2)
    truncate(path)
    with pytest.raises(BadSampleError, match=f'cannot decode annotation {path} .*: OSError: '
                                             'image file is truncated'):
        dataset[2]


def test_annotation_of_another_size_is_refused(mini_root):
    """mmseg would pad the 100x128 map to 128x128 and train on labels out of register."""
    dataset = mini_dataset(mini_root)
    path = sample_path(mini_root, ANNOTATIONS, 0)
    Image.fromarray(np.ones((100, 128), np.uint8)).save(path)
    with pytest.raises(BadSampleError, match=f'annotation {path} is 100x128, but its image '
                                             f'{sample_path(mini_root, IMAGES, 0)} is 128x128'):
        dataset[0]


def test_skip_draws_another_sample_and_logs_the_file(mini_root, tmp_path_factory):
    log_file = tmp_path_factory.mktemp('log') / 'run.log'
    MMLogger.get_instance(f'bad_sample_{id(log_file)}', log_file=str(log_file))   # 'current'
    dataset = mini_dataset(mini_root, on_bad_sample='skip')
    bad = sample_path(mini_root, IMAGES, 0)
    truncate(bad)
    seen = {dataset[0]['data_samples'].img_path for _ in range(3)}
    assert seen and str(bad) not in seen
    log = log_file.read_text()
    assert 'WARNING' in log and f'skipped a bad sample: cannot decode image {bad}' in log


def test_ade20k_dataset_of_the_configs_checks_too(mini_root):
    """CheckedADE20KDataset with the ADE20K config's own train pipeline (the mini data has
    ADE20K's layout and suffixes)."""
    pipeline = Config.fromfile(str(CONFIGS / 'upernet_vim_ti_ade20k.py')).train_pipeline
    dataset = mini_dataset(mini_root, dataset_type='CheckedADE20KDataset', pipeline=pipeline)
    sample = dataset[1]
    # RandomResize draws a scale of 0.5-2x, so the 512 crop can be smaller than 512.
    assert max(sample['inputs'].shape[1:]) <= 512
    assert sample['data_samples'].gt_sem_seg.data.shape[1:] == sample['inputs'].shape[1:]
    path = sample_path(mini_root, IMAGES, 1)
    truncate(path)
    with pytest.raises(BadSampleError, match=f'cannot decode image {path}'):
        dataset[1]


def test_other_failures_name_the_files_but_are_not_blamed_on_them(mini_root):
    """A good file that fails for another reason (here a bad option) is not a bad sample: the
    error names the sample's files and keeps the cause."""
    pipeline = [dict(type='LoadImageFromFile', color_type='no-such-flag')]
    dataset = mini_dataset(mini_root, on_bad_sample='skip', pipeline=pipeline)
    with pytest.raises(RuntimeError, match=f'data pipeline failed on sample 0 \\(image '
                                           f'{sample_path(mini_root, IMAGES, 0)}, annotation '
                                           f'{sample_path(mini_root, ANNOTATIONS, 0)}\\): '
                                           "KeyError: 'no-such-flag'") as error:
        dataset[0]
    assert isinstance(error.value.__cause__, KeyError)


def test_bad_policy_and_silent_option_are_refused(mini_root):
    with pytest.raises(ValueError, match="on_bad_sample='ignore'; choose one of"):
        mini_dataset(mini_root, on_bad_sample='ignore')
    pipeline = [dict(type='LoadImageFromFile', ignore_empty=True)]
    with pytest.raises(ValueError, match='ignore_empty=True\\) drops images silently'):
        mini_dataset(mini_root, pipeline=pipeline)
