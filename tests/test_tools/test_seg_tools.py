"""The segmentation tools end to end on the embedded mini dataset: generator, train.py, test.py,
and the messages users get when data or hardware is missing."""
import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.mini_data import make_mini_ade20k

REPO = Path(__file__).resolve().parents[2]
MINI_CONFIG = 'configs/upernet_vim_ti_mini-ade20k.py'
# the mini config shrunk to 4 Vim blocks and batch 2 (about 0.5 s an iteration here)
SMALL = ['model.backbone.depth=4', 'model.backbone.out_indices=[0,1,2,3]',
         'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1']


def run_tool(*args, timeout=600):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def data_options(root):
    """``--cfg-options`` entries pointing every dataloader of the mini config at ``root``."""
    return [f'{loader}.dataset.data_root={root}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def test_generator_is_deterministic_and_in_ade_layout(tmp_path):
    make_mini_ade20k(tmp_path / 'a', num_train=4, num_val=2)
    make_mini_ade20k(tmp_path / 'b', num_train=4, num_val=2)
    for sub in ('images/training', 'images/validation', 'annotations/training',
                'annotations/validation'):
        names = sorted(os.listdir(tmp_path / 'a' / sub))
        assert len(names) == (4 if 'training' in sub else 2)
        assert names[0].endswith('.jpg' if sub.startswith('images') else '.png')
        match, mismatch, errors = filecmp.cmpfiles(tmp_path / 'a' / sub, tmp_path / 'b' / sub,
                                                   names, shallow=False)
        assert not mismatch and not errors, sub


def test_train_then_test_on_mini_data(mini_data, tmp_path):
    work_dir = tmp_path / 'work'
    result = run_tool('tools/train.py', MINI_CONFIG, '--work-dir', work_dir, '--cfg-options',
                      'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                      'default_hooks.checkpoint.interval=2', *data_options(mini_data), *SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Iter(train) [2/2]' in log and 'loss:' in log and 'eta:' in log
    assert (work_dir / 'iter_2.pth').is_file()
    checkpoint = (work_dir / 'iter_2.pth').read_bytes()

    # a second run into the same work dir would overwrite the first one's checkpoints
    result = run_tool('tools/train.py', MINI_CONFIG, '--work-dir', work_dir, '--cfg-options',
                      *data_options(mini_data), *SMALL)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert f'{work_dir} already holds the checkpoints of a training run (iter_2.pth)' in \
        result.stderr
    assert (work_dir / 'iter_2.pth').read_bytes() == checkpoint

    result = run_tool('tools/test.py', MINI_CONFIG, work_dir / 'iter_2.pth', '--work-dir',
                      tmp_path / 'eval', '--out', tmp_path / 'predictions', '--cfg-options',
                      *data_options(mini_data), *SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    for text in ('per class results', 'striped disc', 'mIoU:', 'mAcc:', 'aAcc:'):
        assert text in log, text
    assert len(list((tmp_path / 'predictions').glob('*.png'))) == 3

    # a checkpoint of another variant (here: state size 16 against 8) is refused, naming keys
    result = run_tool('tools/test.py', MINI_CONFIG, work_dir / 'iter_2.pth', '--work-dir',
                      tmp_path / 'eval2', '--cfg-options', 'model.backbone.d_state=8',
                      *data_options(mini_data), *SMALL)
    assert result.returncode != 0
    assert ('backbone.layers.0.mixer.A_log: checkpoint (384, 16) vs model (384, 8)'
            in result.stderr), result.stderr[-2000:]


def test_resume_with_nothing_to_resume_from_says_so(mini_data, tmp_path):
    """A mistyped --work-dir with --resume: mmengine logged 'resumed from the latest checkpoint
    None' and started over without a word."""
    work_dir = tmp_path / 'mistyped'
    result = run_tool('tools/train.py', MINI_CONFIG, '--resume', '--work-dir', work_dir,
                      '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_interval=10',
                      'default_hooks.logger.interval=1', *data_options(mini_data))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert (f'--resume: nothing to resume from, {work_dir} does not exist: starting a new run '
            'from iteration 0') in log
    assert 'checkpoint None' not in log and 'Iter(train) [1/1]' in log


def test_ade20k_config_without_data_says_where_data_goes(tmp_path):
    result = run_tool('tools/train.py', 'configs/upernet_vim_s_ade20k.py', '--work-dir', tmp_path,
                      '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/nothere')
    assert result.returncode != 0
    assert 'ADE20KDataset (train split) not found' in result.stderr
    assert f'{tmp_path}/nothere does not exist' in result.stderr
    assert 'docs/datasets.md' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.skipif(__import__('torch').cuda.is_available(), reason='checks the CPU message')
def test_amp_on_cpu_is_refused_clearly(mini_data, tmp_path):
    result = run_tool('tools/train.py', MINI_CONFIG, '--amp', '--amp-dtype', 'bfloat16',
                      '--work-dir', tmp_path, '--cfg-options',
                      f'train_dataloader.dataset.data_root={mini_data}',
                      f'val_dataloader.dataset.data_root={mini_data}')
    assert result.returncode != 0 and '--amp needs a CUDA GPU' in result.stderr


def test_amp_switch_sets_the_optim_wrapper(monkeypatch):
    import torch
    from mmengine.config import Config
    sys.path.insert(0, str(REPO / 'tools'))
    from train import enable_amp
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config.fromfile(str(REPO / MINI_CONFIG))
    enable_amp(cfg, 'bfloat16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)
    cfg = Config.fromfile(str(REPO / MINI_CONFIG))
    enable_amp(cfg, 'float16')
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
