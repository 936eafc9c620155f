"""IterationSeedHook: torch's random draws of iteration i depend on (seed, i) only."""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def iteration_seed(seed, iteration):
    """A 64-bit seed mixed from the run's seed and the iteration (numpy's SeedSequence)."""
    return int(np.random.SeedSequence([seed, iteration]).generate_state(1, np.uint64)[0])


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Reseeds torch (CPU and every GPU) from ``(runner.seed, runner.iter)`` before each training
    iteration, so a resumed run draws the same dropout and drop-path masks (and mmdet's RoI
    sampling) as an uninterrupted one.

    Why: mmengine's checkpoints hold no random state, and a resumed run reaches iteration i with
    torch's generator wherever model initialisation left it, not where i - 1 iterations of dropout
    left it, so its weights drift from the uninterrupted run's. Reseeding per iteration makes
    the state a function of the iteration, whatever happened before (resume, validation, which
    also draws). numpy and Python's ``random`` are left alone: the data pipeline draws from them
    while loading, and mmengine replays exactly those draws when it advances the dataloader on
    resume (the sampler is seeded from the run's seed too).
    """

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        torch.manual_seed(iteration_seed(runner.seed, runner.iter))
