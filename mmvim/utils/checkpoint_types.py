"""Inert stand-ins for the non-tensor types real checkpoints carry, for the safe unpickler.

``torch.load(weights_only=True)`` builds only allowlisted globals, but whatever it is given, it
calls (REDUCE) and fills in (BUILD, which calls ``__setstate__``). The real classes are unsafe
there: numpy's ``ndarray.__setstate__`` trusts the pickle's shape and buffer (an object array over
bytes from the file forges pointers and crashes the process); mmengine's
``HistoryBuffer.__setstate__`` writes into a dict shared by every buffer (a file could change what
``statistics('mean')`` computes for the whole run); ``builtins.getattr`` reaches any function's
``__globals__``. So the unpickler gets the stand-ins below, registered under the real names
(:data:`SAFE_GLOBALS`); they only record what the pickle hands them, and :func:`restore` then
validates each record and builds the real object from plain data:

- numpy arrays and scalars of the numeric dtypes in :data:`NUMERIC_DTYPES` (``np.frombuffer``
  over bytes of exactly the right length; object, string and structured dtypes are refused);
- mmengine ``HistoryBuffer``: a new buffer from the pickled histories and ``max_length``; the
  pickled ``statistics_methods`` (``getattr(HistoryBuffer, 'min')`` ...) are dropped, since a
  buffer has the four defaults anyway.

``argparse.Namespace`` (the official training scripts' arguments) is allowlisted as itself: its
BUILD only sets instance attributes.
"""
import argparse
import math
import pickle
import reprlib

import numpy as np
import torch

# numpy's type codes whose values are plain bytes: floats, ints, unsigned ints, bools
NUMERIC_DTYPES = frozenset({'f8', 'f4', 'f2', 'i8', 'i4', 'i2', 'i1', 'u8', 'u4', 'u2', 'u1',
                            'b1'})
HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


class UnsafeCheckpointContent(pickle.UnpicklingError):
    """A pickled object the stand-ins will not rebuild."""


class _Record:
    """What the pickle gave an object: the arguments it was created with and its BUILD state."""

    def __init__(self, *args):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class PickledDtype(_Record):
    """``numpy.dtype(code, align, copy)``; BUILD state ``(version, byte order, ...)``."""


class PickledArray(_Record):
    """``numpy.ndarray``, as ``_reconstruct(ndarray, (0,), b'b')``; BUILD state
    ``(version, shape, dtype, is_fortran, raw bytes)``. Also the stand-in of the class
    ``numpy.ndarray`` itself, which pickles name as ``_reconstruct``'s first argument."""


class PickledScalar(_Record):
    """A numpy scalar: ``scalar(dtype, raw bytes)``."""


class PickledHistoryBuffer(_Record):
    """mmengine's ``HistoryBuffer``, created empty (NEWOBJ) and given its ``__dict__`` (BUILD)."""


def _one_of(name, names):
    return isinstance(name, str) and name in names


def _dtype(code, align=False, copy=False):
    if not _one_of(code, NUMERIC_DTYPES):
        raise UnsafeCheckpointContent(f'numpy dtype {_short(code)} is not one of the numeric '
                                      f'dtypes {sorted(NUMERIC_DTYPES)}')
    return PickledDtype(code)


def _reconstruct(cls, shape, typecode):
    if cls is not PickledArray:
        raise UnsafeCheckpointContent(
            f'numpy _reconstruct of {_short(cls)}, not of numpy.ndarray')
    return PickledArray()


def _scalar(dtype, data):
    if not isinstance(dtype, PickledDtype) or not isinstance(data, bytes):
        raise UnsafeCheckpointContent('a numpy scalar that is not a numeric dtype and bytes')
    return PickledScalar(dtype, data)


def _empty_bytes():
    """``builtins.bytes`` for the unpickler: protocol 2 writes ``b''`` as ``bytes()`` (an empty
    array's data); only that call is allowed."""
    return b''


def _history_buffer_statistic(cls, name):
    """``builtins.getattr`` for the unpickler: only ``getattr(HistoryBuffer, statistic)``."""
    if cls is not PickledHistoryBuffer or not _one_of(name, HISTORY_BUFFER_STATISTICS):
        raise UnsafeCheckpointContent(
            f'getattr({getattr(cls, "__name__", type(cls).__name__)}, {_short(name)}) is not '
            f'one of the HistoryBuffer statistics {sorted(HISTORY_BUFFER_STATISTICS)}')
    return name


SAFE_GLOBALS = [
    argparse.Namespace,
    (_history_buffer_statistic, 'builtins.getattr'),
    (_empty_bytes, 'builtins.bytes'),
    (PickledHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (_dtype, 'numpy.dtype'),
    (PickledArray, 'numpy.ndarray'),
    # numpy 2 pickles name numpy._core, numpy 1 numpy.core
    (_reconstruct, 'numpy._core.multiarray._reconstruct'),
    (_reconstruct, 'numpy.core.multiarray._reconstruct'),
    (_scalar, 'numpy._core.multiarray.scalar'),
    (_scalar, 'numpy.core.multiarray.scalar'),
    PickledDtype,  # under its own name: torch's unpickler BUILDs only instances of listed types
]
_STAND_INS = tuple(entry[0] if isinstance(entry, tuple) else entry
                   for entry in SAFE_GLOBALS if entry is not argparse.Namespace)


def _short(value):
    """``repr(value)`` cut short: values in these messages come from the file."""
    return reprlib.repr(value)


def place(path):
    """Where in the checkpoint ``path`` (the keys down to a value) points, e.g.
    ``message_hub.log_scalars.train/loss``: at most the last eight keys, each over 200
    characters cut short."""
    keys = [key if isinstance(key, str) and len(key) <= 200 else _short(key) for key in path]
    return ('...' if len(keys) > 8 else '') + '.'.join(map(str, keys[-8:])) or 'the top level'


# A stand-in created by NEWOBJ instead of its REDUCE has no ``args``, one never built no ``state``.
def _real_dtype(record, path):
    args, state = getattr(record, 'args', ()), getattr(record, 'state', None)
    # numpy's dtype state: (version, byte order, subarray, field names, fields, ...)
    plain = state is None or (isinstance(state, tuple) and len(state) >= 5
                              and state[1] in ('<', '>', '|', '=')
                              and state[2] is None and state[3] is None and state[4] is None)
    if not (isinstance(record, PickledDtype) and args and _one_of(args[0], NUMERIC_DTYPES)
            and plain):
        raise UnsafeCheckpointContent(f'{place(path)}: not a plain numeric numpy dtype')
    order = state[1] if state else '|'
    dtype = np.dtype(args[0])
    return dtype.newbyteorder(order) if order in '<>' else dtype


def _real_array(record, path):
    state = getattr(record, 'state', None)
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        raise UnsafeCheckpointContent(
            f'{place(path)}: a numpy array without the state numpy pickles')
    _, shape, dtype, is_fortran, data = state
    # (numpy's limits: 64 dimensions of at most 2**63 - 1; the product of such sizes is quick)
    if not (isinstance(shape, tuple) and len(shape) <= 64
            and all(type(n) is int and 0 <= n < 2**63 for n in shape)):
        raise UnsafeCheckpointContent(f'{place(path)}: numpy array shape {_short(shape)}')
    dtype = _real_dtype(dtype, path)
    if not isinstance(data, bytes) or len(data) != math.prod(shape) * dtype.itemsize:
        raise UnsafeCheckpointContent(
            f'{place(path)}: a numpy array of shape {_short(shape)} and dtype {dtype} needs '
            f'{math.prod(shape) * dtype.itemsize} bytes, the file has '
            f'{len(data) if isinstance(data, bytes) else type(data).__name__}')
    array = np.frombuffer(data, dtype)
    return array.reshape(shape, order='F' if is_fortran else 'C').copy()


def _real_scalar(record, path):
    args = getattr(record, 'args', ())
    if len(args) != 2 or not isinstance(args[1], bytes):
        raise UnsafeCheckpointContent(
            f'{place(path)}: a numpy scalar without its dtype and bytes')
    dtype, data = _real_dtype(args[0], path), args[1]
    if len(data) != dtype.itemsize:
        raise UnsafeCheckpointContent(f'{place(path)}: a {dtype} scalar of {len(data)} bytes')
    return np.frombuffer(data, dtype)[0]


def _real_history_buffer(record, path, restore_value):
    from mmengine.logging import HistoryBuffer
    state = getattr(record, 'state', None)
    if not isinstance(state, dict):
        raise UnsafeCheckpointContent(f'{place(path)}: a HistoryBuffer without its state')
    histories = [restore_value(state.get(key), path + (key, ))
                 for key in ('_log_history', '_count_history')]
    max_length = state.get('max_length')
    if not (all(isinstance(h, np.ndarray) and h.ndim == 1 for h in histories)
            and len(histories[0]) == len(histories[1])
            and type(max_length) is int and max_length > 0):
        raise UnsafeCheckpointContent(
            f'{place(path)}: a HistoryBuffer whose histories are not 1-D numpy arrays of one '
            'length, or whose max_length is not positive')
    return HistoryBuffer(histories[0], histories[1], max_length)


def _is_stand_in(value):
    return isinstance(value, _Record) or any(value is s for s in _STAND_INS)


def _refuse_stand_ins_in(items, path, what):
    """Raise if a stand-in hides where restore() does not replace anything: in a dict key
    (tuples looked into) or a set."""
    stack, seen = list(items), set()
    while stack:
        item = stack.pop()
        if _is_stand_in(item):
            raise UnsafeCheckpointContent(f'{place(path)}: a numpy or mmengine object in {what}')
        if isinstance(item, tuple) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item)


def restore(obj):
    """``obj`` (what the safe unpickler returned) with every stand-in replaced by the real,
    validated object, walking dicts, lists, tuples and ``argparse.Namespace`` (dicts, lists and
    namespaces in place). Shared and cyclic references are followed once.

    Raises:
        UnsafeCheckpointContent: a stand-in whose recorded content is not what numpy or mmengine
            would have pickled, a bare stand-in, or one in a dict key or a set (the message gives
            its place in ``obj``).
    """
    done = {}    # id of a visited value: (the value, kept alive so its id stays its own; result)

    def restore_value(value, path):
        if id(value) in done:
            return done[id(value)][1]
        if isinstance(value, PickledArray):
            result = _real_array(value, path)
        elif isinstance(value, PickledScalar):
            result = _real_scalar(value, path)
        elif isinstance(value, PickledDtype):
            result = _real_dtype(value, path)
        elif isinstance(value, PickledHistoryBuffer):
            result = _real_history_buffer(value, path, restore_value)
        elif _is_stand_in(value):
            raise UnsafeCheckpointContent(
                f'{place(path)}: a bare {getattr(value, "__name__", type(value).__name__)}')
        elif isinstance(value, (dict, list, argparse.Namespace, torch.Tensor)):
            done[id(value)] = value, value
            # a Namespace's attributes; a dict and a list's items, and the attributes BUILD can
            # give an OrderedDict (a state dict's _metadata) or a tensor (a Parameter's state)
            for items in (value, getattr(value, '__dict__', None)):
                if isinstance(items, list):
                    for i, item in enumerate(items):
                        items[i] = restore_value(item, path + (i, ))
                elif isinstance(items, dict):
                    _refuse_stand_ins_in(items.keys(), path, 'a dict key')
                    for key in list(items.keys()):
                        items[key] = restore_value(items[key], path + (key, ))
            return value
        elif isinstance(value, tuple):
            result = tuple(restore_value(v, path + (i, )) for i, v in enumerate(value))
        elif isinstance(value, (set, frozenset)):
            _refuse_stand_ins_in(value, path, 'a set')
            return value
        else:
            return value
        done[id(value)] = value, result
        return result

    return restore_value(obj, ())
