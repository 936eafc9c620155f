"""A test-only hook: each process of a distributed run saves its own copy of the weights."""
import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SaveRankWeightsHook(Hook):
    """After training, ``<work_dir>/rank<r>_weights.pth``: the parameters process r holds."""

    def after_run(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        torch.save({k: v.detach().cpu() for k, v in model.named_parameters()},
                   f'{runner.work_dir}/rank{dist.get_rank()}_weights.pth')
