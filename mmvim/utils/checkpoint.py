"""Loading checkpoint files without running code from them.

Every checkpoint mmvim reads goes through :func:`load_checkpoint_file`: ``torch.load`` with
``weights_only=True`` and an explicit list of the few non-tensor types real checkpoints carry.
:func:`use_safe_mmengine_checkpoint_loader` replaces mmengine's loader of local files (a bare
``torch.load``, which on torch >= 2.6 means ``weights_only=True`` without the types mmengine's own
checkpoints need, so resuming fails) by one that allows exactly those types during the call.
Nothing here ever turns ``weights_only`` off.
"""
import argparse
import os
import pickle

import torch

# The official Vim / DeiT training scripts store their argparse arguments beside the weights.
_FOREIGN_CHECKPOINT_TYPES = [argparse.Namespace]


def _mmengine_checkpoint_types():
    """What mmengine's own checkpoints hold besides tensors: the message hub's HistoryBuffers,
    whose state has numpy arrays and scalars and the statistic methods, pickled as
    ``getattr(HistoryBuffer, 'min')``. ``getattr`` only fetches attributes: the unpickler still
    calls nothing that is not on this list."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    multiarray = (np._core if hasattr(np, '_core') else np.core).multiarray
    dtype_classes = [type(np.dtype(name)) for name in
                     ('float64', 'float32', 'float16', 'int64', 'int32', 'uint8', 'bool')]
    return [HistoryBuffer, getattr, np.ndarray, np.dtype, multiarray._reconstruct,
            multiarray.scalar, *dtype_classes]


def _load_mmengine_checkpoint(filename, map_location):
    """mmengine's loader for local files, with ``weights_only=True`` kept and mmengine's types
    allowed for this call only."""
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    with torch.serialization.safe_globals(_FOREIGN_CHECKPOINT_TYPES
                                          + _mmengine_checkpoint_types()):
        return torch.load(filename, map_location=map_location, weights_only=True)


def use_safe_mmengine_checkpoint_loader():
    """Make mmengine's runner (resume, load_from) and ``load_checkpoint`` read local files with
    :func:`_load_mmengine_checkpoint` instead of its own bare ``torch.load``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_mmengine_checkpoint, force=True)


def load_checkpoint_file(path, map_location='cpu'):
    """``torch.load(path, weights_only=True)`` with errors that name the file.

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the file is not a checkpoint, or it holds objects that would need arbitrary
            code to rebuild (refused, never executed).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    try:
        with torch.serialization.safe_globals(_FOREIGN_CHECKPOINT_TYPES):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise RuntimeError(
            f'refusing to load {path}: it holds objects that torch.load(weights_only=True) will not '
            f'rebuild, because rebuilding them could run code from the file. If you trust the file, '
            f're-save its weights in a trusted environment (see docs/failure_modes.md). '
            f'Details: {str(err).splitlines()[0]}') from None
    except (RuntimeError, EOFError, ValueError) as err:
        raise RuntimeError(f'could not read checkpoint {path}: {err}') from err
