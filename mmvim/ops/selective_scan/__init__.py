from .interface import (BACKENDS, bidirectional_selective_scan, resolve_backend, selective_scan,
                        triton_available)
from .reference import bidirectional_selective_scan_ref, selective_scan_ref

__all__ = ['BACKENDS', 'bidirectional_selective_scan', 'bidirectional_selective_scan_ref',
           'resolve_backend', 'selective_scan', 'selective_scan_ref',
           'triton_available']
