"""tools/dist_train.sh on CPUs: two processes over gloo train the mini segmentation config (shrunk
to 4 blocks) and end with the same weights in both processes."""
import os
import socket
import subprocess
import sys

import torch

from mmvim.utils import load_checkpoint_file
from tests.test_tools.test_seg_tools import MINI_CONFIG, REPO, SMALL, data_options


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_cpu_processes_train_and_agree_on_the_weights(mini_data, tmp_path):
    config = tmp_path / 'dist_mini.py'
    config.write_text(
        f"_base_ = '{REPO / MINI_CONFIG}'\n"
        "custom_imports = dict(imports=['mmvim', 'tests.rank_weights_hook'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='IterationSeedHook'),\n"
        "                dict(type='SaveRankWeightsHook')]\n")
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work_dir),
         '--cfg-options', *data_options(mini_data), *SMALL, 'train_cfg.max_iters=3',
         'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=3'],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, 'PORT': str(_free_port()), 'OMP_NUM_THREADS': '1',
             'PYTHON': sys.executable})
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'training with 2 CPU processes over gloo' in log
    assert 'SyncBN layers built as BN' in log and 'Iter(train) [3/3]' in log
    weights = [torch.load(work_dir / f'rank{r}_weights.pth') for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys() and len(weights[0]) > 0
    differing = [k for k in weights[0] if not torch.equal(weights[0][k], weights[1][k])]
    assert not differing, differing[:5]
    # the checkpoint (written by rank 0 only) holds these weights
    saved = load_checkpoint_file(work_dir / 'iter_3.pth')['state_dict']
    assert all(torch.equal(saved[k], v) for k, v in weights[0].items())


def test_missing_or_bad_process_count_gets_the_usage():
    """``$2: unbound variable`` before."""
    for script, args in (('dist_train.sh', [MINI_CONFIG]), ('dist_train.sh', [MINI_CONFIG, 'x']),
                         ('dist_test.sh', [MINI_CONFIG, 'iter_2.pth']),
                         ('dist_test.sh', [MINI_CONFIG, 'iter_2.pth', '0'])):
        result = subprocess.run(['bash', str(REPO / 'tools' / script), *args],
                                capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 2, (script, args)
        assert result.stderr.startswith(f'usage: tools/{script} CONFIG '), result.stderr
        assert 'unbound variable' not in result.stderr
