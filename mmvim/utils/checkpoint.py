"""Loading checkpoint files without running code from them.

Every checkpoint mmvim, its tools and mmengine's runner read goes through
:func:`load_checkpoint_file`: ``torch.load`` with ``weights_only=True`` and, for the few non-tensor
types real checkpoints carry (the official training scripts' argparse arguments, mmengine's
message-hub buffers with their numpy arrays), inert stand-ins that are validated and turned into
the real objects after the load (:mod:`.checkpoint_types`).
:func:`use_safe_mmengine_checkpoint_loader` makes mmengine's ``CheckpointLoader`` (runner resume /
``load_from``, ``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``) use it for local files
and http(s) URLs, and refuses the schemes mmengine loads by itself (model zoos, pavi, s3/petrel).

A legacy file that really needs its pickled objects is loaded only when checkpoints are trusted
explicitly: ``MMVIM_TRUST_CHECKPOINTS=1`` in the environment, which the tools'
``--trust-checkpoint`` option sets (docs/failure_modes.md). Even then the safe load is tried
first, and each file that falls back to full unpickling is named in a warning.
"""
import argparse
import contextlib
import functools
import io
import logging
import os
import pickle
import pickletools
import threading
import zipfile

import torch
from mmengine.logging import print_log

from .checkpoint_types import SAFE_GLOBALS, place, restore

TRUST_ENV = 'MMVIM_TRUST_CHECKPOINTS'


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


ZIP_MAGIC = b'PK\x03\x04'        # torch.save's format since torch 1.6
PICKLE_PROTO = 0x80              # the legacy format: pickles, the first of them opening with PROTO


def _not_a_checkpoint(path):
    """Why the file at ``path`` cannot be a torch checkpoint (neither a zip archive nor a
    pickle), from its first bytes, or None if it may be one."""
    with open(path, 'rb') as f:
        head = f.read(64)
    if not head:
        return 'it is empty (0 bytes)'
    if head.startswith(ZIP_MAGIC) or head[0] == PICKLE_PROTO:
        return None
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return 'it is binary data, neither a zip archive nor a pickle'
    kind = 'an HTML page (a failed download?)' if '<' in text[:16] else 'text'
    return f'it is {kind}, starting with {text[:40]!r}'


def _pickle_damage(path):
    """What is wrong with the pickles of the torch checkpoint at ``path``, or None if they parse,
    opcodes and arguments up to their STOP. ``pickletools`` reads them without building or
    running anything: the zip format's ``data.pkl``, or the legacy format's first four pickles
    (magic number, protocol, system information, the object)."""
    with open(path, 'rb') as f:
        zipped = f.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    if zipped and not zipfile.is_zipfile(path):
        return 'its zip archive has no central directory (cut short?)'
    try:
        if zipped:
            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.rsplit('/', 1)[-1] == 'data.pkl')
                streams = [io.BytesIO(archive.read(name))]
        else:
            with open(path, 'rb') as f:
                streams = [io.BytesIO(f.read())] * 4      # read one after the other
        for stream in streams:
            for _ in pickletools.genops(stream):
                pass
    except Exception as err:         # a torn archive, a bad opcode, the end before STOP
        return f'{type(err).__name__}: {err}'
    return None


_SAFE_GLOBALS_LOCK = threading.Lock()


@contextlib.contextmanager
def _only_mmvim_safe_globals():
    """torch's user allowlist holding just :data:`SAFE_GLOBALS` (the stand-ins), put back as it
    was afterwards. Types the application registered itself are left out meanwhile: torch
    resolves a name registered twice to either entry, and a real ``numpy.ndarray`` instead of
    the stand-in would build object arrays over the file's bytes."""
    serialization = torch.serialization
    with _SAFE_GLOBALS_LOCK:
        registered = serialization.get_safe_globals()
        serialization.clear_safe_globals()
        serialization.add_safe_globals(SAFE_GLOBALS)
        try:
            yield
        finally:
            serialization.clear_safe_globals()
            serialization.add_safe_globals(registered)


def _unpickler_reason(err):
    """The safe unpickler's own reason from the error ``torch.load`` wraps it in."""
    text = str(err)
    text = text.split('WeightsUnpickler error:', 1)[-1].strip()
    return (text.splitlines() or [type(err).__name__])[0]


def load_checkpoint_file(path, map_location='cpu'):
    """``torch.load(path, weights_only=True)`` with errors that name the file, and a check that
    every floating-point tensor in it is finite.

    With :func:`checkpoints_trusted`, a file refused by the safe load is loaded again with
    ``weights_only=False``, and a warning names it.

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the file is not a checkpoint (text, an HTML page, other bytes), is damaged
            (truncated, corrupt), holds objects that would need arbitrary code to rebuild
            (refused, never executed), or holds NaN or infinite values (the tensors are named).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    problem = _not_a_checkpoint(path)
    if problem:
        raise RuntimeError(f'{path} is not a checkpoint: {problem}')
    try:
        with _only_mmvim_safe_globals():
            checkpoint = restore(torch.load(path, map_location=map_location, weights_only=True))
    except Exception as err:
        damage = _pickle_damage(path)
        if damage is not None or not isinstance(err, pickle.UnpicklingError):
            first_line = (str(err).splitlines() or [''])[0]
            raise RuntimeError(f'could not read checkpoint {path}: it is damaged (truncated or '
                               f'corrupt): {damage or f"{type(err).__name__}: {first_line}"}'
                               ) from err
        # the pickles are well formed, and the safe unpickler or the stand-ins refused an object
        if not checkpoints_trusted():
            raise RuntimeError(
                f'refusing to load {path}: it holds objects that torch.load(weights_only=True) '
                f'will not rebuild, because rebuilding them could run code from the file. If you '
                f'trust the file, load it once with --trust-checkpoint (or {TRUST_ENV}=1) and '
                f're-save its weights (see docs/failure_modes.md). Refused: '
                f'{_unpickler_reason(err)}') from None
        checkpoint = _load_trusted(path, map_location)
    check_finite(checkpoint, path)
    return checkpoint


def _named_tensors(obj):
    """(place, tensor) of every tensor in nested dicts, lists and tuples, each container
    visited once (a file can share one many times over); a place is a linked
    (parent place, key), None at the top (see :func:`_keys`)."""
    stack, seen = [(None, obj)], set()
    while stack:
        where, value = stack.pop()
        if isinstance(value, torch.Tensor):
            yield where, value
        elif isinstance(value, (dict, list, tuple)) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(reversed([((where, key), item) for key, item in items]))


def _keys(where):
    """The keys down to a place of :func:`_named_tensors`, as a tuple."""
    keys = []
    while where is not None:
        where, key = where
        keys.append(key)
    return tuple(reversed(keys))


def check_finite(checkpoint, source):
    """Raise a RuntimeError naming the tensors of ``checkpoint`` (the first 8) that hold NaN or
    infinite values; ``source`` names the file."""
    bad = [place(_keys(where)) for where, t in _named_tensors(checkpoint)
           if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        shown = ', '.join(bad[:8]) + (f' ... ({len(bad)} in all)' if len(bad) > 8 else '')
        raise RuntimeError(f'checkpoint {source} holds NaN or infinite values in {shown}: the '
                           'run that saved it had diverged, or the file was damaged; use an '
                           'earlier checkpoint')


def checkpoint_for_tool(path):
    """:func:`load_checkpoint_file` for a command-line tool: a file that is missing, damaged, no
    checkpoint, unsafe or non-finite exits with the message (no traceback)."""
    try:
        return load_checkpoint_file(path)
    except (OSError, RuntimeError) as err:
        raise SystemExit(str(err)) from None


def checkpoint_to_convert(src, dst):
    """The checkpoint at ``src`` for a converter that writes ``dst`` (:func:`checkpoint_for_tool`);
    exits if ``dst`` is ``src`` itself, which the conversion would overwrite."""
    if os.path.abspath(dst) == os.path.abspath(src) or (
            os.path.exists(dst) and os.path.exists(src) and os.path.samefile(src, dst)):
        raise SystemExit(f'the output {dst} is the input checkpoint {src}: converting would '
                         'overwrite it; give another output path')
    return checkpoint_for_tool(src)


def converter_input(description, src_help, dst_help):
    """A checkpoint converter's command line (``src``, ``dst``, ``--trust-checkpoint``), parsed,
    and the checkpoint at ``src`` (:func:`checkpoint_to_convert`): ``(args, checkpoint)``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help=dst_help)
    add_trust_checkpoint_option(parser)
    args = parser.parse_args()
    return args, checkpoint_to_convert(args.src, args.dst)


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
                f'refusing to load {filename}: mmengine loads this scheme by itself, outside '
                f'mmvim\'s checked loader. Give the file\'s local path or its http(s) URL '
                f'instead, or trust it with --trust-checkpoint / {TRUST_ENV}=1 '
                f'(docs/failure_modes.md)')
        return mmengine_loader(filename, map_location)

    return load


def use_safe_mmengine_checkpoint_loader():
    """Route mmengine's ``CheckpointLoader`` through :func:`load_checkpoint_file`: local files
    and http(s) URLs load safely; the other schemes (model zoos, pavi, s3/petrel), which mmengine
    loads with its own ``torch.load`` call, are refused unless checkpoints are trusted."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    loader = mmengine_checkpoint.CheckpointLoader
    for prefixes, mmengine_loader in (
            (('modelzoo://', 'torchvision://'), mmengine_checkpoint.load_from_torchvision),
            (('open-mmlab://', 'openmmlab://'), mmengine_checkpoint.load_from_openmmlab),
            ('mmcls://', mmengine_checkpoint.load_from_mmcls),
            ('pavi://', mmengine_checkpoint.load_from_pavi),
            ((r'(\S+\:)?s3://', r'(\S+\:)?petrel://'), mmengine_checkpoint.load_from_ceph)):
        loader.register_scheme(prefixes, _refuse_unless_trusted(mmengine_loader), force=True)
    loader.register_scheme(('http://', 'https://'), load_from_http, force=True)
    loader.register_scheme('', load_from_local, force=True)
