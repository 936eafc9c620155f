from .interface import bidirectional_conv1d_silu
from .reference import bidirectional_conv1d_silu_ref, depthwise_conv1d

__all__ = ['bidirectional_conv1d_silu', 'bidirectional_conv1d_silu_ref',
           'depthwise_conv1d']
