"""Kernels: torch and triton only (no mmcv / mmseg / mmdet imports here)."""
from .add_rms_norm import add_rms_norm, add_rms_norm_ref
from .backend import BACKENDS
from .bidirectional_conv1d import (bidirectional_conv1d_silu, bidirectional_conv1d_silu_ref,
                                   depthwise_conv1d)
from .selective_scan import (bidirectional_selective_scan, bidirectional_selective_scan_ref,
                             selective_scan, selective_scan_ref)

__all__ = ['BACKENDS', 'add_rms_norm', 'add_rms_norm_ref', 'bidirectional_conv1d_silu',
           'bidirectional_conv1d_silu_ref', 'bidirectional_selective_scan',
           'bidirectional_selective_scan_ref', 'depthwise_conv1d',
           'selective_scan', 'selective_scan_ref']
