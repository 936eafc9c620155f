from .hooks import IterationSeedHook, NonFiniteLossHook
from .optimizers import LayerDecayOptimWrapperConstructor

__all__ = ['IterationSeedHook', 'LayerDecayOptimWrapperConstructor', 'NonFiniteLossHook']
