from .backbones import VisionMamba

__all__ = ['VisionMamba']
