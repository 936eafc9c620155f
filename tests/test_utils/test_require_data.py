"""require_data (tools/train.py, tools/test.py): a dataset folder or annotation file that is
missing or empty stops the tool with a message naming the path, before mmengine's "need at least
one array to concatenate"."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmvim.utils.tool_config import require_data

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def config_on(name, root):
    cfg = Config.fromfile(str(CONFIGS / name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = f'{root}/'
    return cfg


def test_empty_image_folder_is_named(tmp_path):
    for folder in ('images/training', 'annotations/training'):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / 'annotations/training/a.png').write_bytes(b'png')
    cfg = config_on('upernet_vim_ti_mini-ade20k.py', tmp_path)
    with pytest.raises(SystemExit, match=f'MiniADE20KDataset \\(train split\\) not found: '
                                         f'{tmp_path}/images/training is an empty folder'):
        require_data(cfg, ['train'])


def test_empty_annotation_file_is_named(tmp_path):
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations/instances_train2017.json').write_bytes(b'')
    (tmp_path / 'train2017').mkdir()
    (tmp_path / 'train2017/000000000000.jpg').write_bytes(b'jpg')
    cfg = config_on('cascade-mask-rcnn_vim-ti_vitdet_coco.py', tmp_path)
    with pytest.raises(SystemExit, match=f'{tmp_path}/annotations/instances_train2017.json is '
                                         'an empty file'):
        require_data(cfg, ['train'])
