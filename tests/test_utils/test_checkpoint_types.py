"""The non-tensor contents of real checkpoints (numpy arrays and scalars, mmengine's message hub,
argparse arguments) load as the real objects, and a file cannot use them to crash the process or
change shared state: the safe unpickler only builds inert stand-ins, validated afterwards."""
import argparse
import collections
import signal

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmvim.utils import load_checkpoint_file
from tests.crafted_pickles import (BUILD, EMPTY_DICT, NONE, SETITEM, as_checkpoint, call, dict_,
                                   global_, integer, long_integer, memo_get, memo_put,
                                   numpy_array, numpy_dtype, raw_bytes, text, tuple_)


def test_numpy_mmengine_and_argparse_contents_round_trip(tmp_path):
    hub = MessageHub.get_instance('checkpoint_types_round_trip')
    for value in (0.5, 0.25, 2.0):
        hub.update_scalar('train/loss', value)
    hub.update_info('iters', np.int64(7))
    arrays = {'f8': np.linspace(0, 1, 7), 'f4': np.arange(6, dtype=np.float32).reshape(2, 3),
              'i8': np.arange(-3, 2), 'bool': np.array([True, False]),
              'u1': np.arange(5, dtype=np.uint8), 'empty': np.zeros((0, 3)),
              'fortran': np.asfortranarray(np.arange(12.).reshape(3, 4)),
              'big_endian': np.arange(4, dtype='>f8'), 'half': np.ones(3, np.float16)}
    scalars = {'f8': np.float64(1.5), 'i4': np.int32(-2), 'bool': np.bool_(True)}
    args = argparse.Namespace(lr=1e-3, milestones=np.array([30, 60]), model='vim_tiny')
    path = tmp_path / 'real.pth'
    torch.save({'state_dict': {'w': torch.randn(3)}, 'message_hub': hub.state_dict(),
                'arrays': arrays, 'scalars': scalars, 'args': args}, path)

    loaded = load_checkpoint_file(path)
    for name, array in arrays.items():
        assert type(loaded['arrays'][name]) is np.ndarray
        assert loaded['arrays'][name].dtype == array.dtype, name
        np.testing.assert_array_equal(loaded['arrays'][name], array)
    for name, scalar in scalars.items():
        assert type(loaded['scalars'][name]) is type(scalar) and loaded['scalars'][name] == scalar
    assert vars(loaded['args']).keys() == vars(args).keys()
    np.testing.assert_array_equal(loaded['args'].milestones, args.milestones)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert type(buffer) is HistoryBuffer
    assert buffer.mean() == pytest.approx(2.75 / 3) and buffer.statistics('max') == 2.0
    resumed = MessageHub.get_instance('checkpoint_types_resumed')
    resumed.load_state_dict(loaded['message_hub'])
    assert resumed.get_info('iters') == 7
    assert resumed.get_scalar('train/loss').current() == 2.0


def history_buffer(state):
    return call(global_('mmengine.logging.history_buffer', 'HistoryBuffer')) + state + BUILD


def float_array(values):
    return numpy_array((len(values),), numpy_dtype('f8'),
                       raw_bytes(np.array(values, np.float64).tobytes()))


def test_a_file_cannot_change_what_every_history_buffer_computes(tmp_path):
    """mmengine's HistoryBuffer.__setstate__ writes the pickled statistics_methods into a dict
    all buffers share; the file's methods are dropped instead."""
    max_method = call(global_('builtins', 'getattr'),
                      global_('mmengine.logging.history_buffer', 'HistoryBuffer'), text('max'))
    state = dict_(max_length=integer(10), _log_history=float_array([1., 2., 99.]),
                  _count_history=numpy_array((3,), numpy_dtype('i8'),
                                             raw_bytes(np.ones(3, np.int64).tobytes())),
                  statistics_methods=dict_(mean=max_method))
    path = as_checkpoint(dict_(buffer=history_buffer(state)), tmp_path / 'statistics.pth')
    shared = dict(HistoryBuffer._statistics_methods)
    try:
        loaded = load_checkpoint_file(path)
        assert HistoryBuffer._statistics_methods == shared
        assert loaded['buffer'].mean() == pytest.approx(34.0)
        assert HistoryBuffer([1., 2., 99.], [1, 1, 1]).statistics('mean') == pytest.approx(34.0)
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(shared)


BAD_NUMPY = {
    # an object array over bytes from the file: its "objects" would be forged pointers
    'object array over bytes': (
        numpy_array((2,), numpy_dtype('O'), raw_bytes(b'A' * 16)), "numpy dtype 'O'"),
    # numpy would read a million floats from an 8-byte buffer
    'buffer shorter than its shape': (
        numpy_array((1000000,), numpy_dtype('f8'), raw_bytes(b'\0' * 8)),
        'needs 8000000 bytes, the file has 8'),
    # a float dtype given an object field by its BUILD state
    'dtype with fields': (
        numpy_array((1,), numpy_dtype('f8', names=tuple_(text('a')),
                                      fields=dict_(a=tuple_(numpy_dtype('f8'), integer(0)))),
                    raw_bytes(b'\0' * 8)), 'not a plain numeric numpy dtype'),
    'numpy class other than ndarray': (
        call(global_('numpy._core.multiarray', '_reconstruct'),
             global_('mmengine.logging.history_buffer', 'HistoryBuffer'), tuple_(integer(0)),
             raw_bytes(b'b')), 'numpy _reconstruct of'),
    'history buffer of unequal lengths': (
        history_buffer(dict_(max_length=integer(5), _log_history=float_array([1.]),
                             _count_history=float_array([1., 1.]))), 'of one length'),
    'array without its state': (
        call(global_('numpy._core.multiarray', '_reconstruct'), global_('numpy', 'ndarray'),
             tuple_(integer(0)), raw_bytes(b'b')), 'without the state numpy pickles'),
    'a stand-in itself as a value': (global_('numpy', 'dtype'), 'a bare _dtype'),
    # a thousand 2030-bit sizes would take minutes to multiply
    'shape of sizes numpy cannot have': (
        numpy_array((1,), numpy_dtype('f8'), raw_bytes(b'\0' * 8)).replace(
            tuple_(integer(1)), tuple_(*[long_integer(2**2030)] * 1000)),
        'numpy array shape'),
    # restore() replaces values, not keys or set members: stand-ins there are refused
    'array as a dict key': (EMPTY_DICT + float_array([1.]) + NONE + SETITEM, 'in a dict key'),
    'array in a set': (call(global_('builtins', 'set'), tuple_(tuple_(float_array([1.])))),
                       'in a set'),
}


@pytest.mark.parametrize('content', BAD_NUMPY)
def test_contents_the_stand_ins_cannot_validate_are_refused(tmp_path, content):
    payload, reason = BAD_NUMPY[content]
    path = as_checkpoint(dict_(x=payload), tmp_path / 'bad.pth')
    with pytest.raises(RuntimeError, match=f'refusing to load {path}: .*Refused: .*{reason}'):
        load_checkpoint_file(path)


def test_getattr_resolves_only_history_buffer_statistics(tmp_path):
    init = call(global_('builtins', 'getattr'),
                global_('mmengine.logging.history_buffer', 'HistoryBuffer'), text('__init__'))
    path = as_checkpoint(dict_(x=init), tmp_path / 'getattr.pth')
    with pytest.raises(RuntimeError, match="Refused: getattr\\(PickledHistoryBuffer, '__init__'"
                                           '\\) is not one of the HistoryBuffer statistics'):
        load_checkpoint_file(path)


def test_messages_stay_short_whatever_the_file_holds(tmp_path):
    """Keys and values in the messages come from the file: a megabyte key is cut short."""
    bad = numpy_array((4,), numpy_dtype('f8'), raw_bytes(b'\0' * 8))
    path = as_checkpoint(EMPTY_DICT + text('k' * 1000000) + dict_(x=bad) + SETITEM,
                         tmp_path / 'long_key.pth')
    with pytest.raises(RuntimeError, match="'kkkkk.*kkkk'.x: a numpy array of shape") as error:
        load_checkpoint_file(path)
    assert len(str(error.value)) < 1000


def test_an_application_s_own_allowlist_neither_interferes_nor_is_lost(tmp_path):
    """torch resolves a name registered twice to either entry: with the real numpy classes
    registered by the application beside the stand-ins, an object array could be built. They
    are set aside during the load and put back after it."""
    registered = torch.serialization.get_safe_globals()
    own = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, type(np.dtype('O')),
           argparse.Namespace]
    torch.serialization.add_safe_globals(own)
    try:
        for _ in range(4):    # either entry could win: try a few loads
            objects = numpy_array((2,), numpy_dtype('O'), raw_bytes(b'\0' * 16))
            path = as_checkpoint(dict_(x=objects), tmp_path / 'object_array.pth')
            with pytest.raises(RuntimeError, match="numpy dtype 'O' is not one of"):
                load_checkpoint_file(path)
        assert set(torch.serialization.get_safe_globals()) == set(registered + own)
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(registered)


def test_shared_references_are_walked_once(tmp_path):
    """Sixty levels of tuples that each hold the level below twice: 2**60 paths to one array,
    in a file of a few kilobytes. Every walk over the result (restore, the finite check) visits
    each object once. SIGALRM ends the test if a walk follows every path."""
    levels = [tuple_(float_array([1.])) + memo_put(0)]
    levels += [tuple_(memo_get(n - 1), memo_get(n - 1)) + memo_put(n) for n in range(1, 61)]
    path = as_checkpoint(dict_(x=tuple_(*levels)), tmp_path / 'shared.pth')
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail('a walk follows every path'))
    signal.alarm(60)
    try:
        loaded = load_checkpoint_file(path)
    finally:
        signal.alarm(0)
    level = loaded['x'][-1]
    for _ in range(60):
        assert level[0] is level[1]
        level = level[0]
    assert type(level[0]) is np.ndarray


def test_attributes_of_a_state_dict_are_restored_too(tmp_path):
    """BUILD gives an OrderedDict attributes (torch's state dicts keep _metadata there)."""
    state_dict = collections.OrderedDict(w=torch.ones(2))
    state_dict._metadata = {'': {'version': np.int64(2)}}
    torch.save({'state_dict': state_dict}, tmp_path / 'metadata.pth')
    loaded = load_checkpoint_file(tmp_path / 'metadata.pth')['state_dict']
    assert type(loaded._metadata['']['version']) is np.int64
