from .interface import add_rms_norm
from .reference import add_rms_norm_ref

__all__ = ['add_rms_norm', 'add_rms_norm_ref']
