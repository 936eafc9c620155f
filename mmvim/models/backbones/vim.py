import math

import torch
from torch import nn

from ..layers import (CLS_TOKEN_MODES, PatchEmbed, ResidualAdd, RMSNorm, VimBlock,
                      cls_token_index, resize_pos_embed)
from ..utils import CUDAGraphRunner, GraphedTraining, inference_without_weight_cache
from .patch_backbone import PatchBackbone
from .vim_checkpoint import load_vim_state_dict

ARCH_SETTINGS = {
    'tiny': dict(embed_dim=192, depth=24),
    'small': dict(embed_dim=384, depth=24),
    'base': dict(embed_dim=768, depth=24),
}
ARCH_ALIASES = {'ti': 'tiny', 't': 'tiny', 's': 'small', 'b': 'base'}
OUT_TYPES = ('mixer', 'stream')
# the standard deviation of a unit normal truncated to [-2, 2]: LeCun-normal initialisation
# (timm's, which the official Vim uses for the patch convolution) divides by it
TRUNCATED_NORMAL_STD = .87962566103423978


class VisionMamba(PatchBackbone):
    """Vision Mamba (Vim) backbone for dense prediction.

    Zhu et al., "Vision Mamba: Efficient Visual Representation Learning with Bidirectional State
    Space Model". Same math and parameter names as the official code, so the released ImageNet
    checkpoints (hustvl/Vim ``*.pth``, their ``'model'`` entry) load through
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``.

    Data flow: image (B, 3, H, W) -> patch conv -> tokens (B, M, D) -> class token inserted ->
    + position embedding (resized to the input grid) -> ``depth`` :class:`VimBlock` s ->
    taps at ``out_indices``, class token removed, reshaped to (B, D, H', W').

    Args:
        arch (str | None): 'tiny' (D=192), 'small' (D=384) or 'base' (D=768), all 24 blocks
            (aliases 'ti', 's', 'b'). ``embed_dim`` / ``depth`` override it. Defaults to 'small'.
        img_size (int | tuple): input size the position embedding is stored for; other sizes
            are served by resizing it at forward time. Defaults to 224.
        patch_size (int): patch convolution kernel. Defaults to 16.
        stride (int): patch convolution stride; 8 is the paper's long-sequence setting, whose
            grid is ``(H - patch_size) / stride + 1``. Defaults to 16.
        in_channels (int): image channels. Defaults to 3.
        embed_dim (int, optional): token width D.
        depth (int, optional): number of blocks.
        d_state (int): SSM state size. Defaults to 16.
        d_conv (int): mixer conv kernel. Defaults to 4.
        expand (int): mixer inner width E = expand * D. Defaults to 2.
        cls_token (str | None): class token 'middle' (official, at position M // 2), 'head'
            (position 0) or None. Defaults to 'middle'.
        ckpt_cls_token (str | None): where the class token sits in checkpoints loaded through
            ``init_cfg`` ('middle' for every released Vim checkpoint). Defaults to 'middle'.
        out_indices (Sequence[int]): blocks whose output is tapped (negative counts from the end).
            Defaults to (5, 11, 17, 23).
        out_type (str): what is tapped: 'mixer', the block's mixer output (official segmentation
            code), or 'stream', the residual stream after the block, i.e. ``residual + hidden``
            (official detection code). Defaults to 'mixer'.
        final_norm (bool): apply the final RMSNorm ``norm_f`` to the last tap (with
            ``out_type='stream'`` and the last block tapped this is the official final feature).
            Without it ``norm_f`` is not built and a checkpoint's ``norm_f.weight`` is skipped.
            Defaults to False.
        drop_rate (float): dropout after the position embedding. Defaults to 0.
        drop_path_rate (float): stochastic depth; block i gets ``([0] + linspace(0, rate,
            depth))[i]``, the last block's output ``rate`` (official schedule). Defaults to 0.1.
        norm_eps (float): RMSNorm epsilon. Defaults to 1e-5.
        residual_in_fp32 (bool): keep the residual stream in float32. Defaults to True.
        divide_out (bool): halve the sum of the two scan directions. Defaults to True.
        scan_backend (str | None): backend of the blocks' ops, the selective scan's above all
            ('triton', 'torch', 'reference': :mod:`mmvim.ops.backend`); None picks Triton on
            GPUs and the PyTorch path on CPUs. Defaults to None.
        with_cp (bool): activation checkpointing per block in training. Defaults to False.
        frozen_stages (int): -1 freezes nothing; 0 freezes the patch and position embeddings and
            the class token; k > 0 also the first k blocks. Defaults to -1.
        cuda_graph (bool): in eval mode under no_grad on a GPU, capture the forward as a CUDA
            graph per input shape and replay it (:class:`mmvim.models.utils.CUDAGraphRunner`):
            one launch instead of ~500, which is what small batches are bound by. Each shape's
            graph keeps its activation memory (8 shapes at most). Graphs are dropped when the
            module is moved, cast or loaded; other changes after a capture (attributes such as
            ``out_indices``) are not seen. Defaults to False.
        cuda_graph_train (bool): in training mode with gradients on a GPU, replay the forward
            and the backward as CUDA graphs per input shape
            (:class:`mmvim.models.utils.GraphedTraining`): for fixed-size training crops.
            Gradients must be cleared (set to None) before each forward and each forward be
            followed by its backward (no gradient accumulation: refused with an error); drop
            path draws new masks at every replay; each input shape (4 at most) keeps a training
            step's working memory. Not with ``with_cp``. Graphs are dropped as above.
            Defaults to False.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads an official
            or mmvim checkpoint (see :func:`load_vim_state_dict`); without it the weights get the
            official initialisation.

    Inputs smaller than one patch, or whose sides do not fit the patch grid, are refused with an
    error naming the size (pad them, e.g. with the data preprocessor's ``size_divisor=16``); they
    are not padded silently. So are an empty batch and images that are not floating point or,
    outside autocast, not in the weights' dtype
    (:meth:`~mmvim.models.backbones.patch_backbone.PatchBackbone.input_grid`).
    """

    def __init__(self, arch='small', img_size=224, patch_size=16, stride=16, in_channels=3,
                 embed_dim=None, depth=None, d_state=16, d_conv=4, expand=2, cls_token='middle',
                 ckpt_cls_token='middle', out_indices=(5, 11, 17, 23), out_type='mixer',
                 final_norm=False, drop_rate=0.0, drop_path_rate=0.1, norm_eps=1e-5,
                 residual_in_fp32=True, divide_out=True, scan_backend=None, with_cp=False,
                 frozen_stages=-1, cuda_graph=False, cuda_graph_train=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = dict(ARCH_SETTINGS[self._arch_name(arch)]) if arch is not None else {}
        settings.update({k: v for k, v in dict(embed_dim=embed_dim, depth=depth).items()
                         if v is not None})
        if set(settings) != {'embed_dim', 'depth'}:
            raise ValueError('VisionMamba: give an arch or both embed_dim and depth')
        self.embed_dim, self.depth = settings['embed_dim'], settings['depth']
        for name, value, allowed in (('cls_token', cls_token, CLS_TOKEN_MODES),
                                     ('ckpt_cls_token', ckpt_cls_token, CLS_TOKEN_MODES),
                                     ('out_type', out_type, OUT_TYPES)):
            if value not in allowed:
                raise ValueError(f'VisionMamba: {name}={value!r}; choose one of {allowed}')
        self.out_indices = self.block_indexes('out_indices', out_indices, self.depth)
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.patch_size, self.stride = patch_size, stride
        self.cls_token_mode, self.ckpt_cls_token = cls_token, ckpt_cls_token
        self.out_type, self.with_cp, self.frozen_stages = out_type, with_cp, frozen_stages
        if cuda_graph_train and with_cp:
            raise ValueError('VisionMamba: cuda_graph_train=True with with_cp=True: activation '
                             'checkpointing recomputes blocks outside the captured graphs; '
                             'choose one')
        self.cuda_graph, self._graph_runner = cuda_graph, None
        self.cuda_graph_train, self._train_graphs = cuda_graph_train, None
        self.grid_size = self.patch_grid(*self.img_size)

        self.patch_embed = PatchEmbed(in_channels, self.embed_dim, patch_size, stride)
        num_patches = self.grid_size[0] * self.grid_size[1]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dim)) if cls_token else None
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + (cls_token is not None), self.embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = [0.0] + torch.linspace(0, drop_path_rate, self.depth).tolist()
        self.layers = nn.ModuleList(
            VimBlock(self.embed_dim, drop_path=rates[i], norm_eps=norm_eps,
                     residual_in_fp32=residual_in_fp32, d_state=d_state, d_conv=d_conv,
                     expand=expand, divide_out=divide_out, scan_backend=scan_backend)
            for i in range(self.depth))
        # the last block's output joins the stream with the full drop-path rate (official)
        self.final_add = ResidualAdd(drop_path_rate, residual_in_fp32)
        self.norm_f = RMSNorm(self.embed_dim, eps=norm_eps) if final_norm else None
        self._official_init()
        self._freeze_stages()

    # construction helpers -------------------------------------------------------------------

    @staticmethod
    def _arch_name(arch):
        name = ARCH_ALIASES.get(str(arch).lower(), str(arch).lower())
        if name not in ARCH_SETTINGS:
            raise ValueError(f'VisionMamba: unknown arch {arch!r}; choose one of '
                             f'{sorted(ARCH_SETTINGS)} (or aliases {sorted(ARCH_ALIASES)})')
        return name

    @staticmethod
    def config_for(embed_dim, depth):
        """The config change that builds a VisionMamba of ``embed_dim`` and ``depth``: its arch
        where one fits, else the two numbers."""
        arch = [name for name, s in ARCH_SETTINGS.items()
                if s == dict(embed_dim=embed_dim, depth=depth)]
        setting = (f"arch='{arch[0]}'" if arch else
                   f'arch=None, embed_dim={embed_dim}, depth={depth}')
        return f"set model.backbone {setting}, and the neck's and heads' channels to match"

    @torch.no_grad()
    def _official_init(self):
        """Official Vim init: lecun-normal patch conv, trunc-normal(0.02) position embedding and
        class token, out_proj rescaled by 1/sqrt(depth). The mixer initialises its SSM parts."""
        proj = self.patch_embed.proj
        std = math.sqrt(1.0 / (proj.weight[0].numel())) / TRUNCATED_NORMAL_STD
        nn.init.trunc_normal_(proj.weight, std=std, a=-2 * std, b=2 * std)
        nn.init.zeros_(proj.bias)
        for param in (self.pos_embed, self.cls_token):
            if param is not None:
                nn.init.trunc_normal_(param, std=.02, a=-.04, b=.04)
        for layer in self.layers:
            weight = layer.mixer.out_proj.weight
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            weight /= math.sqrt(self.depth)

    def load_pretrained(self, checkpoint, logger='current'):
        """An official Vim or mmvim checkpoint: :func:`load_vim_state_dict`."""
        load_vim_state_dict(self, checkpoint, logger)

    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return [], []
        params = [p for p in (self.pos_embed, self.cls_token) if p is not None]
        return [self.patch_embed, *self.layers[:self.frozen_stages]], params

    def _freeze_stages(self):
        modules, params = self._frozen_modules()
        for p in params + [p for m in modules for p in m.parameters()]:
            p.requires_grad = False
        for m in modules:
            m.eval()

    def train(self, mode=True):
        super().train(mode)
        for m in self._frozen_modules()[0]:
            m.eval()
        return self

    # geometry --------------------------------------------------------------------------------

    def pos_embed_for(self, grid):
        """The position embedding for a patch ``grid``, class entry where the token goes."""
        if tuple(grid) == self.grid_size:
            return self.pos_embed
        src_index = cls_token_index(self.cls_token_mode, self.grid_size[0] * self.grid_size[1])
        dst_index = cls_token_index(self.cls_token_mode, grid[0] * grid[1])
        return resize_pos_embed(self.pos_embed, self.grid_size, grid, src_index, dst_index)

    # forward ---------------------------------------------------------------------------------

    # captured graphs point at the tensors they were captured with: moving, casting or
    # replacing them drops the graphs (a copy or pickle of the module carries none)
    def _apply(self, fn, *args, **kwargs):
        self._graph_runner = self._train_graphs = None
        return super()._apply(fn, *args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        self._graph_runner = self._train_graphs = None
        return super().load_state_dict(*args, **kwargs)

    def __getstate__(self):
        return {**self.__dict__, '_graph_runner': None, '_train_graphs': None}

    def forward(self, x):
        """(B, C, H, W) -> tuple of (B, D, H', W'), one per ``out_indices`` entry, in its order."""
        if self.cuda_graph and x.is_cuda and not self.training and not torch.is_grad_enabled():
            if self._graph_runner is None:
                self._graph_runner = CUDAGraphRunner(self.forward_eager)
            return self._graph_runner(x)
        if self.cuda_graph_train and x.is_cuda and self.training and torch.is_grad_enabled():
            if self._train_graphs is None:
                self._train_graphs = GraphedTraining(self, self.forward_eager)
            return self._train_graphs(x)
        return self.forward_eager(x)

    def forward_eager(self, x):
        """The forward pass op by op (what :meth:`forward` runs unless it replays a graph); in
        inference under autocast, without autocast's weight cache (see
        :func:`~mmvim.models.utils.inference_without_weight_cache`)."""
        with inference_without_weight_cache(x.device.type):
            return self._forward_ops(x)

    def _forward_ops(self, x):
        """:meth:`forward_eager`'s ops: (B, C, H, W) -> tuple of (B, D, H', W')."""
        grid = self.input_grid(x)
        tokens = self.patch_embed(x).flatten(1, 2)                         # (B, M, D)
        cls_index = cls_token_index(self.cls_token_mode, tokens.shape[1])
        if cls_index is not None:
            cls = self.cls_token.expand(tokens.shape[0], -1, -1)
            tokens = torch.cat([tokens[:, :cls_index], cls, tokens[:, cls_index:]], dim=1)
        hidden, residual = self.pos_drop(tokens + self.pos_embed_for(grid)), None
        del tokens                                     # not kept through the blocks

        taps = {}
        last = max(self.out_indices)
        for i, layer in enumerate(self.layers[:last + 1]):
            hidden, residual = self.run_block(layer, hidden, residual)
            if self.out_type == 'mixer' and i in self.out_indices:
                taps[i] = hidden
            elif self.out_type == 'stream' and i - 1 in self.out_indices:
                taps[i - 1] = residual                     # the stream after block i - 1
        if self.out_type == 'stream':
            taps[last] = self.final_stream(hidden, residual, last)

        outs = [taps[i] for i in self.out_indices]
        if self.norm_f is not None:
            outs[-1] = self.norm_f(outs[-1].to(self.norm_f.weight.dtype))
        return tuple(self._to_map(out, cls_index, grid) for out in outs)

    def final_stream(self, hidden, residual, index):
        """The residual stream after block ``index``: the next block's add, or for the last block
        the official final ``residual + drop_path(hidden)`` with the full drop-path rate."""
        add = self.layers[index + 1].add if index + 1 < self.depth else self.final_add
        return add(hidden, residual)

    @staticmethod
    def _to_map(tokens, cls_index, grid):
        if cls_index is not None:
            tokens = torch.cat([tokens[:, :cls_index], tokens[:, cls_index + 1:]], dim=1)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *grid).contiguous()
