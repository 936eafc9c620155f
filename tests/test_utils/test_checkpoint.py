"""Checkpoints are read with torch.load(weights_only=True) everywhere, and mmengine's runner can
still resume from its own checkpoints on torch >= 2.6."""
import argparse
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

import mmvim  # noqa: F401  (registers the safe types, as a config's custom_imports does)
from mmvim.utils import load_checkpoint_file

RUNNER_SCRIPT = textwrap.dedent('''
    import sys
    import torch
    from torch import nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    if sys.argv[3] == 'with-mmvim':
        import mmvim  # noqa: F401

    class Points(torch.utils.data.Dataset):
        def __init__(self):
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(24, 3, generator=g)
            self.y = self.x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
        def __len__(self):
            return len(self.x)
        def __getitem__(self, i):
            return dict(inputs=self.x[i], target=self.y[i])

    class Regressor(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 1)
        def forward(self, inputs, target, mode='loss'):
            return dict(loss=((self.linear(inputs).squeeze(-1) - target) ** 2).mean())

    work_dir, epochs = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)  # the model is built before the runner seeds anything
    runner = Runner(
        model=Regressor(), work_dir=work_dir, randomness=dict(seed=0),
        train_dataloader=dict(dataset=Points(), batch_size=4, num_workers=0,
                              collate_fn=dict(type='default_collate'),
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        resume=len(sys.argv) > 4, default_scope='mmengine')
    runner.train()
    torch.save(dict(iter=runner.iter, weight=runner.model.linear.weight.detach()),
               f'{work_dir}/final.pt')
''')


def run_training(tmp_path, work_dir, epochs, mmvim_imported=True, resume=False):
    script = tmp_path / 'train_tiny.py'
    script.write_text(RUNNER_SCRIPT)
    args = [sys.executable, str(script), str(work_dir), str(epochs),
            'with-mmvim' if mmvim_imported else 'plain'] + (['resume'] if resume else [])
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo_root, os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)


def test_resume_from_mmengine_checkpoint_with_weights_only(tmp_path):
    resumed, straight = tmp_path / 'resumed', tmp_path / 'straight'
    assert run_training(tmp_path, resumed, 2).returncode == 0
    assert (resumed / 'epoch_2.pth').is_file()
    result = run_training(tmp_path, resumed, 3, resume=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resumed epoch: 2' in result.stdout + result.stderr
    assert run_training(tmp_path, straight, 3).returncode == 0
    a = torch.load(resumed / 'final.pt', weights_only=True)
    b = torch.load(straight / 'final.pt', weights_only=True)
    assert a['iter'] == b['iter'] == 18
    torch.testing.assert_close(a['weight'], b['weight'], rtol=1e-6, atol=1e-7)


def test_resume_fails_without_mmvim(tmp_path):
    """The trap the fix removes: plain mmengine cannot resume on this torch."""
    work_dir = tmp_path / 'plain'
    assert run_training(tmp_path, work_dir, 1, mmvim_imported=False).returncode == 0
    result = run_training(tmp_path, work_dir, 2, mmvim_imported=False, resume=True)
    assert result.returncode != 0
    assert 'weights_only' in result.stderr or 'Unsupported global' in result.stderr


class Payload:
    """Unpickling this runs a command: what a hostile checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_checkpoint_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    torch.save({'model': {'w': torch.zeros(1)}, 'payload': Payload(marker)}, path)
    with pytest.raises(RuntimeError, match='refusing to load .*evil.pth'):
        load_checkpoint_file(path)
    # mmengine's runner and load_checkpoint go through mmvim's loader: refused there too
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_official_checkpoint_with_args_namespace_loads(tmp_path):
    path = tmp_path / 'vim.pth'
    torch.save({'model': {'w': torch.ones(2)}, 'args': argparse.Namespace(lr=1e-3), 'epoch': 3},
               path)
    checkpoint = load_checkpoint_file(path)
    assert checkpoint['args'].lr == 1e-3 and checkpoint['epoch'] == 3


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        load_checkpoint_file(tmp_path / 'nothere.pth')
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='junk.pth'):
        load_checkpoint_file(tmp_path / 'junk.pth')
