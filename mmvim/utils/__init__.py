from .atomic_write import use_atomic_local_backend
from .checkpoint import (add_trust_checkpoint_option, checkpoint_for_tool,
                         checkpoint_to_convert, converter_input, load_checkpoint_file,
                         use_safe_mmengine_checkpoint_loader)
from .resume import checkpoint_dir, find_resumable_checkpoint
from .state_dict_fit import check_mostly_fits, check_state_dict_fits
from .work_dir import claim_work_dir

__all__ = ['add_trust_checkpoint_option', 'check_mostly_fits', 'check_state_dict_fits',
           'checkpoint_dir', 'checkpoint_for_tool', 'checkpoint_to_convert', 'claim_work_dir',
           'converter_input', 'find_resumable_checkpoint', 'load_checkpoint_file',
           'use_atomic_local_backend', 'use_safe_mmengine_checkpoint_loader']
