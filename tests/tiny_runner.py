"""A real mmengine training run small enough for unit tests: a linear regression on 24 points,
built by mmengine's Runner with its own loops, hooks, checkpoints and optimizer wrapper. It does
not import mmvim, so a test decides whether mmvim's patches are in place."""
import itertools

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

_RUN_IDS = itertools.count()


class Points(torch.utils.data.Dataset):
    """24 points of y = x . (1, -2, 0.5) + 0.3; the inputs of the samples in ``nan_at`` are NaN."""

    def __init__(self, nan_at=()):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(24, 3, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
        self.x[list(nan_at)] = float('nan')

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], target=self.y[i])


class Regressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, target, mode='loss'):
        return dict(loss_fit=((self.linear(inputs).squeeze(-1) - target) ** 2).mean())


def tiny_runner(work_dir, train_cfg=None, shuffle=True, nan_at=(), optimizer=None, **kwargs):
    """A Runner for :class:`Regressor` on :class:`Points` (batch 4, or 1 with ``nan_at`` so a NaN
    sample spoils exactly one iteration), seed 0; ``kwargs`` go to ``Runner``."""
    torch.manual_seed(0)  # the model is built before the runner seeds anything
    return Runner(
        model=Regressor(), work_dir=str(work_dir), randomness=dict(seed=0),
        experiment_name=f'tiny_{next(_RUN_IDS)}',
        train_dataloader=dict(dataset=Points(nan_at), batch_size=1 if nan_at else 4,
                              num_workers=0, collate_fn=dict(type='default_collate'),
                              sampler=dict(type='DefaultSampler', shuffle=shuffle)),
        train_cfg=train_cfg or dict(by_epoch=False, max_iters=4),
        optim_wrapper=dict(optimizer=optimizer or dict(type='SGD', lr=0.05, momentum=0.9)),
        default_scope='mmengine', **kwargs)
