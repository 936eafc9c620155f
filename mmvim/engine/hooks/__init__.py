from .checkpoint_fit import CheckpointFitHook
from .iteration_seed import IterationSeedHook
from .non_finite_loss import NonFiniteLossHook

__all__ = ['CheckpointFitHook', 'IterationSeedHook', 'NonFiniteLossHook']
