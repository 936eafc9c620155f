from .hooks import CheckpointFitHook, IterationSeedHook, NonFiniteLossHook
from .optimizers import LayerDecayOptimWrapperConstructor

__all__ = ['CheckpointFitHook', 'IterationSeedHook', 'LayerDecayOptimWrapperConstructor',
           'NonFiniteLossHook']
