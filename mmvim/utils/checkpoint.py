"""Loading checkpoint files without running code from them.

Every checkpoint mmvim, its tools and mmengine's runner read goes through
:func:`load_checkpoint_file`: ``torch.load`` with ``weights_only=True`` and an explicit list of the
few non-tensor types real checkpoints carry (the official training scripts' argparse arguments,
mmengine's message-hub buffers). :func:`use_safe_mmengine_checkpoint_loader` makes mmengine's
``CheckpointLoader`` (runner resume / ``load_from``, ``init_cfg=dict(type='Pretrained')``,
``load_checkpoint``) use it for local files and http(s) URLs, and refuses the schemes whose
mmengine loaders download and unpickle with ``weights_only=False``.

A legacy file that really needs its pickled objects is loaded only when checkpoints are trusted
explicitly: ``MMVIM_TRUST_CHECKPOINTS=1`` in the environment, which the tools'
``--trust-checkpoint`` option sets (docs/failure_modes.md). Even then the safe load is tried
first, and each file that falls back to full unpickling is named in a warning.
"""
import argparse
import functools
import logging
import os
import pickle

import torch
from mmengine.logging import print_log

TRUST_ENV = 'MMVIM_TRUST_CHECKPOINTS'
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


def checkpoints_trusted():
    """Whether files that ``weights_only=True`` refuses may be fully unpickled (``TRUST_ENV``)."""
    return os.environ.get(TRUST_ENV) == '1'


class _TrustCheckpoints(argparse.Action):
    """Sets ``TRUST_ENV`` as the option is parsed, before any checkpoint is read."""

    def __call__(self, parser, namespace, values, option_string=None):
        os.environ[TRUST_ENV] = '1'
        setattr(namespace, self.dest, True)


def add_trust_checkpoint_option(parser):
    """Add ``--trust-checkpoint`` to a tool's parser: it sets ``MMVIM_TRUST_CHECKPOINTS=1``."""
    parser.add_argument(
        '--trust-checkpoint', action=_TrustCheckpoints, nargs=0, default=False,
        help='load checkpoints that hold pickled objects besides weights by unpickling them '
             'fully, which runs any code they carry: only for files you trust '
             '(docs/failure_modes.md)')


def load_checkpoint_file(path, map_location='cpu'):
    """``torch.load(path, weights_only=True)`` with errors that name the file.

    With :func:`checkpoints_trusted`, a file refused by the safe load is loaded again with
    ``weights_only=False``, and a warning names it.

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the file is not a checkpoint (truncated, corrupt), or it holds objects that
            would need arbitrary code to rebuild (refused, never executed).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    try:
        with torch.serialization.safe_globals(_FOREIGN_CHECKPOINT_TYPES
                                              + _mmengine_checkpoint_types()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if checkpoints_trusted():
            return _load_trusted(path, map_location)
        raise RuntimeError(
            f'refusing to load {path}: it holds objects that torch.load(weights_only=True) will '
            f'not rebuild, because rebuilding them could run code from the file. If you trust the '
            f'file, load it once with --trust-checkpoint (or {TRUST_ENV}=1) and re-save its '
            f'weights (see docs/failure_modes.md). Details: {str(err).splitlines()[0]}') from None
    except (RuntimeError, EOFError, ValueError) as err:
        raise RuntimeError(f'could not read checkpoint {path}: {err}') from err


def _load_trusted(path, map_location):
    print_log(f'{path} holds pickled objects besides weights; unpickling it fully because '
              f'checkpoints are trusted ({TRUST_ENV}=1): any code in it has run',
              logger='current', level=logging.WARNING)
    return torch.load(path, map_location=map_location, weights_only=False)


# mmengine's CheckpointLoader logs the loader's name from its 11th character on, hence the names.
def load_from_local(filename, map_location=None):
    """A local file, loaded safely."""
    return load_checkpoint_file(os.path.expanduser(filename), map_location)


def load_from_http(url, map_location=None):
    """Download ``url`` into torch's hub cache, as mmengine does, and load it safely."""
    directory = os.path.join(torch.hub.get_dir(), 'checkpoints')
    cached = os.path.join(directory, os.path.basename(url.split('?')[0]))
    if not os.path.isfile(cached):
        os.makedirs(directory, exist_ok=True)
        torch.hub.download_url_to_file(url, cached)
    return load_checkpoint_file(cached, map_location)


def _refuse_unless_trusted(mmengine_loader):

    @functools.wraps(mmengine_loader)
    def load(filename, map_location=None):
        if not checkpoints_trusted():
            raise RuntimeError(
                f'refusing to load {filename}: mmengine resolves this name to a download that it '
                f'unpickles with weights_only=False. Give the file\'s local path or its http(s) '
                f'URL instead (both load with weights_only=True), or trust it with '
                f'--trust-checkpoint / {TRUST_ENV}=1 (docs/failure_modes.md)')
        return mmengine_loader(filename, map_location)

    return load


def use_safe_mmengine_checkpoint_loader():
    """Route mmengine's ``CheckpointLoader`` through :func:`load_checkpoint_file`: local files
    and http(s) URLs load safely; model-zoo names (``torchvision://`` ...) are refused unless
    checkpoints are trusted."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    loader = mmengine_checkpoint.CheckpointLoader
    # these resolve a model name to a URL and unpickle the download with weights_only=False
    for prefixes, mmengine_loader in (
            (('modelzoo://', 'torchvision://'), mmengine_checkpoint.load_from_torchvision),
            (('open-mmlab://', 'openmmlab://'), mmengine_checkpoint.load_from_openmmlab),
            ('mmcls://', mmengine_checkpoint.load_from_mmcls)):
        loader.register_scheme(prefixes, _refuse_unless_trusted(mmengine_loader), force=True)
    loader.register_scheme(('http://', 'https://'), load_from_http, force=True)
    loader.register_scheme('', load_from_local, force=True)
