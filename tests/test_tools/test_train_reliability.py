"""tools/train.py and tools/test.py under failure, on the mini segmentation config shrunk to
4 Vim blocks and batch 2 (about 0.5 s an iteration here): a training run killed with SIGKILL
resumes to exactly the uninterrupted run, a NaN loss stops training with the iteration and the
loss named, and a checkpoint that would run code is refused by test.py."""
import signal
import subprocess
import sys
import time

import torch

from mmvim.utils import load_checkpoint_file
from tests.test_tools.test_seg_tools import MINI_CONFIG, REPO, SMALL, data_options, run_tool
from tests.test_utils.test_checkpoint import hostile_checkpoint


def train_command(work_dir, options, *extra):
    return [sys.executable, 'tools/train.py', MINI_CONFIG, '--work-dir', str(work_dir), *extra,
            '--cfg-options', *options]


def test_killed_training_resumes_to_the_uninterrupted_run(mini_data, tmp_path):
    # deterministic CPU run with dropout (heads) and drop path (backbone) drawing random numbers
    options = data_options(mini_data) + SMALL + [
        'train_cfg.max_iters=6', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=2', 'model.backbone.drop_path_rate=0.1',
        'randomness.seed=0', 'randomness.deterministic=True']
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    result = subprocess.run(train_command(straight, options), capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    with open(tmp_path / 'killed.out', 'w') as out:
        process = subprocess.Popen(train_command(killed, options), stdout=out,
                                   stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 240
        while not (killed / 'iter_2.pth').exists() and process.poll() is None:
            assert time.monotonic() < deadline, 'no checkpoint written'
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    first_logs = list(killed.glob('*/*.log'))
    assert len(first_logs) == 1 and 'Iter(train) [2/6]' in first_logs[0].read_text()
    first_log_text = first_logs[0].read_text()

    result = run_tool('tools/train.py', MINI_CONFIG, '--work-dir', killed, '--resume',
                      '--cfg-options', *options, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'resuming from' in log and 'Iter(train) [6/6]' in log

    # nothing of the first run is lost: its log is as it was, next to the resumed run's
    logs = sorted(killed.glob('*/*.log'))
    assert len(logs) == 2 and first_logs[0] in logs
    assert first_logs[0].read_text() == first_log_text
    names = sorted(p.name for p in killed.glob('iter_*.pth'))
    assert names == sorted(p.name for p in straight.glob('iter_*.pth')) == ['iter_4.pth',
                                                                            'iter_6.pth']
    a = load_checkpoint_file(straight / 'iter_6.pth')
    b = load_checkpoint_file(killed / 'iter_6.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key


def test_nan_loss_stops_training_naming_iteration_and_loss(mini_data, tmp_path):
    result = run_tool('tools/train.py', MINI_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                      *data_options(mini_data), *SMALL, 'train_cfg.max_iters=2',
                      'model.decode_head.loss_decode.loss_weight=nan')
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith('FloatingPointError: non-finite loss at iteration 1: '
                              'decode.loss_ce=nan. Training stopped'), message
    assert 'aux.loss_ce' not in message
    assert not list(tmp_path.glob('iter_*.pth'))


def test_test_tool_refuses_checkpoint_that_runs_code(mini_data, tmp_path):
    path, marker = hostile_checkpoint(tmp_path)
    result = run_tool('tools/test.py', MINI_CONFIG, path, '--work-dir', tmp_path / 'eval',
                      '--cfg-options', *data_options(mini_data), *SMALL)
    assert result.returncode != 0
    assert f'refusing to load {path}' in result.stderr
    assert not marker.exists()


def test_load_from_an_official_checkpoint_stops_saying_how_to_load_it(mini_data, tmp_path):
    """mmengine's load_from would match none of the keys, log them all as missing and train the
    random initialisation."""
    from tests.test_models.test_vim_checkpoint import official_state_dict, save_official
    path = save_official(tmp_path / 'vim_t_midclstok_76p1acc.pth',
                         official_state_dict(192, depth=4, grid=8))
    result = run_tool('tools/train.py', MINI_CONFIG, '--work-dir', tmp_path / 'work',
                      '--cfg-options', *data_options(mini_data), *SMALL, 'train_cfg.max_iters=2',
                      f'load_from={path}')
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert f'load_from={path} fits 0 of the' in message
    assert "its 'model' entry holds a backbone's weights" in message
    assert f"model.backbone.init_cfg=dict(type='Pretrained', checkpoint='{path}')" in message
    assert 'Iter(train)' not in result.stdout + result.stderr


def test_test_tool_names_damaged_and_diverged_checkpoints(mini_data, tmp_path):
    page = tmp_path / 'iter_2.pth'
    page.write_text('<!DOCTYPE html><html>Sign in to download</html>')
    nan = tmp_path / 'diverged.pth'
    torch.save({'state_dict': {'backbone.pos_embed': torch.full((1, 4), float('nan'))}}, nan)
    for path, expected in ((page, f'{page} is not a checkpoint: it is an HTML page'),
                           (nan, f'checkpoint {nan} holds NaN or infinite values in '
                                 'state_dict.backbone.pos_embed')):
        result = run_tool('tools/test.py', MINI_CONFIG, path, '--work-dir', tmp_path / 'eval',
                          '--cfg-options', *data_options(mini_data), *SMALL)
        assert result.returncode != 0 and expected in result.stderr, result.stderr[-2000:]
        assert 'Traceback' not in result.stderr and 'mIoU' not in result.stdout
