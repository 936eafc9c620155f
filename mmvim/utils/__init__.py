from .atomic_write import use_atomic_local_backend
from .checkpoint import (add_trust_checkpoint_option, load_checkpoint_file,
                         use_safe_mmengine_checkpoint_loader)
from .resume import checkpoint_dir, find_resumable_checkpoint
from .work_dir import claim_work_dir

__all__ = ['add_trust_checkpoint_option', 'checkpoint_dir', 'claim_work_dir',
           'find_resumable_checkpoint', 'load_checkpoint_file', 'use_atomic_local_backend',
           'use_safe_mmengine_checkpoint_loader']
