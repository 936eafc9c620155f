from .backbones import VisionMamba, ViTDet
from .layers import LN2d

# mmvim.models.necks is left out: it is built from mmcv bricks, and this package must import
# without mmcv (registration imports the necks where mmcv is installed).
__all__ = ['LN2d', 'VisionMamba', 'ViTDet']
