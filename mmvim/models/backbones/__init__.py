from .vim import VisionMamba
from .vit_det import ViTDet

__all__ = ['VisionMamba', 'ViTDet']
