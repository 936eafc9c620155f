import math

import torch
import torch.nn.functional as F
from torch import nn

from mmvim.ops import bidirectional_conv1d_silu, bidirectional_selective_scan

# Inference (no autograd) on sequences of at least this many tokens (Vim at 1024 x 1024 and up,
# patch 16) takes the memory-lean path (BiMambaMixer.forward_lean); shorter ones the plain
# path, whose one in_proj product is faster: the lean path took 1.2-3.0% longer for Vim-Ti at
# 1024-2048 (H100, bf16, CUDA graphs, 2026-11-25).
LEAN_MIN_LENGTH = 4096


class BiMambaMixer(nn.Module):
    """Vim's bidirectional Mamba mixer (official ``Mamba`` with ``bimamba_type='v2'``).

    ``in_proj`` and ``out_proj`` are shared; each direction has its own conv1d, x_proj, dt_proj,
    A_log and D (``*_b`` for the backward direction). Parameter names match the released
    checkpoints (``layers.{i}.mixer.*``). Both directions read the tokens in their original order;
    the backward one convolves anti-causally and scans from the last token to the first.

    Args:
        d_model: token width D.
        d_state: SSM state size N. Defaults to 16.
        d_conv: depthwise conv kernel. Defaults to 4.
        expand: inner width E = expand * D. Defaults to 2.
        dt_rank: rank R of the delta projection; 'auto' is ceil(D / 16).
        dt_min, dt_max, dt_init_floor: range of the initial step sizes (official init).
        divide_out: halve the sum of the two directions (official ``if_divide_out``).
        scan_backend: backend of the mixer's ops, :func:`mmvim.ops.bidirectional_selective_scan`
            and :func:`mmvim.ops.bidirectional_conv1d_silu` ('triton', 'torch', 'reference':
            :mod:`mmvim.ops.backend`); None picks Triton on GPU, PyTorch on CPU.

    Shape: (batch, length, D) -> (batch, length, D).
    """

    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, dt_rank='auto', dt_min=1e-3,
                 dt_max=1e-1, dt_init_floor=1e-4, divide_out=True, scan_backend=None):
        super().__init__()
        self.d_inner = expand * d_model
        self.d_state = d_state
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == 'auto' else dt_rank
        self.divide_out = divide_out
        self.scan_backend = scan_backend
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)
        for suffix in ('', '_b'):
            conv = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner,
                             padding=d_conv - 1)
            x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
            dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
            A_log = nn.Parameter(torch.empty(self.d_inner, d_state))
            D = nn.Parameter(torch.empty(self.d_inner))
            for name, module in (('conv1d', conv), ('x_proj', x_proj), ('dt_proj', dt_proj)):
                setattr(self, name + suffix, module)
            setattr(self, 'A' + suffix + '_log', A_log)
            setattr(self, 'D' + suffix, D)
        self.dt_range = (dt_min, dt_max, dt_init_floor)
        self.reset_ssm_parameters()

    @torch.no_grad()
    def reset_ssm_parameters(self):
        """Official Mamba init of A_log, D and dt_proj, for both directions."""
        dt_min, dt_max, dt_floor = self.dt_range
        A = torch.arange(1, self.d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        for suffix in ('', '_b'):
            getattr(self, 'A' + suffix + '_log').copy_(torch.log(A))
            getattr(self, 'D' + suffix).fill_(1.0)
            dt_proj = getattr(self, 'dt_proj' + suffix)
            std = self.dt_rank**-0.5
            nn.init.uniform_(dt_proj.weight, -std, std)
            dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min))
                           + math.log(dt_min)).clamp(min=dt_floor)
            dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse of softplus

    def _ssm_inputs(self, x, x_proj, dt_proj):
        """x (batch, E, L) -> delta (batch, E, L) without bias, B and C (batch, N, L)."""
        dt, B, C = x_proj(x.transpose(1, 2)).split([self.dt_rank, self.d_state, self.d_state], -1)
        delta = F.linear(dt, dt_proj.weight).transpose(1, 2)
        return delta, B.transpose(1, 2), C.transpose(1, 2)

    def _conv(self, x):
        """x (batch, E, L) -> (x_f, x_b): both directions' conv1d + SiLU."""
        return bidirectional_conv1d_silu(
            x, self.conv1d.weight, self.conv1d.bias, self.conv1d_b.weight, self.conv1d_b.bias,
            backend=self.scan_backend)

    def _direction(self, suffix):
        """A direction's float32 scan parameters: A = -exp(A_log) (E, N), D, delta_bias.

        Where autograd does not record, A is written channel-fastest (the (E, N) view of a
        contiguous (N, E) tensor), the layout the Triton scan takes it in, so the scan does not
        copy it (mmvim.ops.selective_scan.triton_interface._prepare): one kernel fewer per
        direction and block.
        """
        A_log = getattr(self, f'A{suffix}_log').float()
        if torch.is_grad_enabled() and A_log.requires_grad:
            A = -torch.exp(A_log)
        else:
            A = torch.exp(A_log, out=A_log.new_empty(A_log.shape[::-1]).t()).neg_()
        return (A, getattr(self, 'D' + suffix).float(),
                getattr(self, 'dt_proj' + suffix).bias.float())

    def forward(self, hidden):
        if hidden.shape[1] >= LEAN_MIN_LENGTH and not (
                torch.is_grad_enabled() and (hidden.requires_grad
                                             or any(p.requires_grad for p in self.parameters()))):
            return self.forward_lean(hidden)
        # split along the last axis, then view as (batch, E, L): the split's backward then
        # concatenates two (batch, L, E) gradients into in_proj's contiguous (batch, L, 2E) one
        # (split after the transpose, it wrote a (batch, 2E, L) tensor that had to be copied)
        x, z = (t.transpose(1, 2) for t in self.in_proj(hidden).chunk(2, dim=-1))
        return self._scan_and_project(*self._conv(x), z)

    @torch.no_grad()
    def forward_lean(self, hidden):
        """:meth:`forward` without autograd, holding fewer (batch, L, E) tensors: in_proj's x
        and z halves are separate products, x freed after the convolution, and the scan writes
        its result over the forward direction's delta. At the scan 5 such tensors are live (x_f,
        x_b, both deltas, z) against 7 in :meth:`forward`; the weight halves are cast per call,
        so autocast does not cache a copy of in_proj's weight. It costs a second in_proj product
        (1.2-3.0% of Vim-Ti's time at 1024-2048 on an H100, see ``LEAN_MIN_LENGTH``).
        """
        weight = self.in_proj.weight        # in_proj: a bias-free nn.Linear, run in halves
        x_f, x_b = self._conv(F.linear(hidden, weight[:self.d_inner]).transpose(1, 2))
        z = F.linear(hidden, weight[self.d_inner:]).transpose(1, 2)
        return self._scan_and_project(x_f, x_b, z, over_delta=True)

    def _scan_and_project(self, x_f, x_b, z, over_delta=False):
        """Both directions' SSM inputs from the conv outputs x_f, x_b (batch, E, L), the scan
        gated by z, and out_proj: (batch, L, D). ``over_delta`` (inference only): the scan
        writes its result over the forward direction's delta."""
        delta_f, B_f, C_f = self._ssm_inputs(x_f, self.x_proj, self.dt_proj)
        delta_b, B_b, C_b = self._ssm_inputs(x_b, self.x_proj_b, self.dt_proj_b)
        A_f, D_f, bias_f = self._direction('')
        A_b, D_b, bias_b = self._direction('_b')
        y = bidirectional_selective_scan(
            x_f, delta_f, A_f, B_f, C_f, D_f, bias_f, x_b, delta_b, A_b, B_b, C_b, D_b, bias_b,
            z=z, delta_softplus=True, divide_out=self.divide_out, backend=self.scan_backend,
            out=delta_f if over_delta else None)
        del x_f, x_b, delta_f, delta_b, z, B_f, C_f, B_b, C_b    # before out_proj's output
        return self.out_proj(y.transpose(1, 2))
