"""Hand-assembled pickles (protocol 2 opcodes) for what ``torch.save`` never writes but a hostile or
broken checkpoint can hold, and :func:`as_checkpoint` to wrap one in torch's zip format."""
import io
import struct
import zipfile

import torch

EMPTY_DICT, MARK, TUPLE, TUPLE2 = b'}', b'(', b't', b'\x86'
REDUCE, BUILD, SETITEM, NONE, TRUE, FALSE = b'R', b'b', b's', b'N', b'\x88', b'\x89'
PROTO_2, STOP = b'\x80\x02', b'.'


def text(value):
    """A str (BINUNICODE)."""
    data = value.encode()
    return b'X' + struct.pack('<I', len(data)) + data


def integer(value):
    """An int (BININT)."""
    return b'J' + struct.pack('<i', value)


def long_integer(value):
    """An int of any size (LONG1)."""
    data = value.to_bytes((value.bit_length() + 8) // 8, 'little', signed=True)
    return b'\x8a' + bytes([len(data)]) + data


def memo_put(index):
    """Keep the object on top of the stack as memo entry ``index`` (LONG_BINPUT)."""
    return b'r' + struct.pack('<I', index)


def memo_get(index):
    """Push memo entry ``index`` again: the same object, shared (LONG_BINGET)."""
    return b'j' + struct.pack('<I', index)


def global_(module, name):
    """The object ``module.name`` (GLOBAL), as the unpickler resolves it."""
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def call(function, *args):
    """``function(*args)`` (REDUCE); ``function`` and ``args`` are pickled pieces."""
    return function + MARK + b''.join(args) + TUPLE + REDUCE


def raw_bytes(data):
    """A bytes object, as protocol 2 writes it: ``_codecs.encode(str, 'latin1')``."""
    return call(global_('_codecs', 'encode'), text(data.decode('latin1')), text('latin1'))


def tuple_(*items):
    return MARK + b''.join(items) + TUPLE


def dict_(**items):
    return EMPTY_DICT + b''.join(text(k) + v + SETITEM for k, v in items.items())


def numpy_dtype(code, names=NONE, fields=NONE):
    """``numpy.dtype(code, False, True)`` with numpy's BUILD state."""
    state = tuple_(integer(3), text('|' if code in ('O', 'b1', 'u1', 'i1') else '<'), NONE,
                   names, fields, integer(-1), integer(-1), integer(0))
    return call(global_('numpy', 'dtype'), text(code), FALSE, TRUE) + state + BUILD


def numpy_array(shape, dtype, data):
    """A numpy array as numpy pickles it: ``_reconstruct(ndarray, (0,), b'b')`` and BUILD with
    ``(1, shape, dtype, is_fortran, data)``; ``dtype`` and ``data`` are pickled pieces."""
    empty = call(global_('numpy._core.multiarray', '_reconstruct'), global_('numpy', 'ndarray'),
                 tuple_(integer(0)), raw_bytes(b'b'))
    return empty + tuple_(integer(1), tuple_(*map(integer, shape)), dtype, FALSE, data) + BUILD


def as_checkpoint(payload, path):
    """Write ``payload`` (the pickled object, without PROTO and STOP) as the ``data.pkl`` of a
    torch zip checkpoint at ``path``."""
    buffer = io.BytesIO()
    torch.save({}, buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, 'w') as out:
        for info in source.infolist():
            data = source.read(info.filename)
            out.writestr(info.filename, PROTO_2 + payload + STOP
                         if info.filename.endswith('/data.pkl') else data)
    return path
