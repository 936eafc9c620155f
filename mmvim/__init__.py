"""mmvim: Vision Mamba (Vim) for MMSegmentation and MMDetection."""
from . import engine  # noqa: F401  (registers optimizer constructors and hooks in mmengine)
from .registration import register_all_modules
from .utils import use_atomic_local_backend, use_safe_mmengine_checkpoint_loader
from .version import __version__

use_safe_mmengine_checkpoint_loader()
use_atomic_local_backend()
register_all_modules()

__all__ = ['__version__', 'register_all_modules']
