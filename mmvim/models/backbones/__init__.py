from .vim import VisionMamba

__all__ = ['VisionMamba']
