from .interface import bidirectional_selective_scan, selective_scan
from .reference import bidirectional_selective_scan_ref, selective_scan_ref

__all__ = ['bidirectional_selective_scan', 'bidirectional_selective_scan_ref', 'selective_scan',
           'selective_scan_ref']
