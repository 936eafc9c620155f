from .checkpoint import use_safe_mmengine_checkpoint_loader, load_checkpoint_file

__all__ = ['use_safe_mmengine_checkpoint_loader', 'load_checkpoint_file']
