from torch import nn


class DropPath(nn.Module):
    """Stochastic depth: zero a sample's whole branch with probability ``drop_prob`` in training
    and scale the kept ones by ``1 / (1 - drop_prob)``. Shape: (batch, ...) -> same."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if not self.training or self.drop_prob == 0.0:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0], ) + (1, ) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self):
        return f'drop_prob={self.drop_prob:.3f}'
