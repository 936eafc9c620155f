"""What the plain patch backbones (VisionMamba, ViTDet) share: block-index arguments, the input
check, ``init_cfg`` dispatch to their checkpoint loaders, and running a block with activation
checkpointing."""
import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch.utils.checkpoint import checkpoint

from ..layers import patch_grid
from ..utils import autocast_dtype


class PatchBackbone(BaseModule):
    """Base of a backbone that cuts images into patches (``self.patch_embed``, a
    :class:`~mmvim.models.layers.PatchEmbed`) and runs blocks over them.

    Subclasses set ``patch_size``, ``stride`` and ``with_cp`` and implement
    :meth:`load_pretrained`. Errors name the subclass.
    """

    def block_indexes(self, name, indexes, depth):
        """``indexes`` (an int or a sequence; negative ones count from the end) as a tuple of
        block numbers 0..depth-1; raises naming the argument ``name`` for one beyond the blocks
        or for an empty ``out_indices``."""
        indexes = (indexes, ) if isinstance(indexes, int) else tuple(indexes)
        owner = type(self).__name__
        if name == 'out_indices' and not indexes:
            raise ValueError(f'{owner}: out_indices is empty')
        outside = [i for i in indexes if not -depth <= i < depth]
        if outside:
            raise ValueError(f'{owner}: {name} {indexes} has {outside[0]}, beyond the {depth} '
                             f'blocks (valid: {-depth}..{depth - 1})')
        return tuple(i % depth for i in indexes)

    def patch_grid(self, height, width):
        """The (rows, cols) patch grid of an input of ``height`` x ``width``; raises if the input
        is smaller than one patch or does not tile exactly."""
        return patch_grid(height, width, self.patch_size, self.stride, type(self).__name__)

    def input_grid(self, x):
        """The patch grid of the images ``x``, after checking them.

        Raises:
            ValueError: naming the shape or dtype, unless ``x`` is a non-empty batch of
                (B, in_channels, H, W) floating-point images in the weights' dtype (any
                floating-point dtype under autocast), whose size fits the patch grid.
        """
        owner, proj = type(self).__name__, self.patch_embed.proj
        if x.dim() != 4 or x.shape[1] != proj.in_channels:
            raise ValueError(f'{owner}: expected images (B, {proj.in_channels}, H, W), got '
                             f'{tuple(x.shape)}')
        if x.shape[0] == 0:
            raise ValueError(f'{owner}: the batch is empty (input {tuple(x.shape)})')
        if not x.is_floating_point():
            raise ValueError(f'{owner}: expected floating-point images, got {x.dtype}; convert '
                             'and normalise them first (as the data preprocessor does)')
        if autocast_dtype(x.device.type, None) is None and x.dtype != proj.weight.dtype:
            raise ValueError(f'{owner}: the images are {x.dtype}, the weights '
                             f'{proj.weight.dtype}; cast one to the other (images: '
                             f'x.to({proj.weight.dtype})), or run under torch.autocast for '
                             'mixed precision')
        return self.patch_grid(x.shape[2], x.shape[3])

    def init_weights(self):
        """Load ``init_cfg``'s checkpoint (type 'Pretrained') with :meth:`load_pretrained`;
        other init_cfg types as mmengine."""
        if self.init_cfg and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'],
                                 logger=MMLogger.get_current_instance())
            self._is_init = True
        else:
            super().init_weights()

    def load_pretrained(self, checkpoint, logger='current'):
        """Load a checkpoint (path or dict) strictly, adapting it to this backbone."""
        raise NotImplementedError

    def run_block(self, block, *args):
        """``block(*args)``, with activation checkpointing when ``with_cp`` in training."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            return checkpoint(block, *args, use_reentrant=False)
        return block(*args)
