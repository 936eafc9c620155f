from .mini_ade20k import MINI_ADE20K_CLASSES, MiniADE20KDataset

__all__ = ['MINI_ADE20K_CLASSES', 'MiniADE20KDataset']
