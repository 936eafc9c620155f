# Built from mmcv bricks: imported by registration only where mmcv is installed.
from .simple_fpn import SimpleFPN

__all__ = ['SimpleFPN']
