"""mmvim: Vision Mamba (Vim) for MMSegmentation and MMDetection."""
from . import engine  # noqa: F401  (registers optimizer constructors in mmengine)
from .registration import register_all_modules
from .utils import use_safe_mmengine_checkpoint_loader
from .version import __version__

use_safe_mmengine_checkpoint_loader()
register_all_modules()

__all__ = ['__version__', 'register_all_modules']
