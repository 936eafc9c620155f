"""Kernels: torch and triton only (no mmcv / mmseg / mmdet imports here)."""
from .selective_scan import (bidirectional_selective_scan, bidirectional_selective_scan_ref,
                             selective_scan, selective_scan_ref)

__all__ = ['bidirectional_selective_scan', 'bidirectional_selective_scan_ref', 'selective_scan',
           'selective_scan_ref']
