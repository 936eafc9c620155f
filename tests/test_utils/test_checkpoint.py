"""Checkpoints are read with torch.load(weights_only=True) everywhere (mmvim's loaders, mmengine's
runner, init_cfg Pretrained, http URLs), a file that would run code is refused before any of it
runs, only an explicit trust switch loads legacy files, and mmengine's runner can still resume
from its own checkpoints on torch >= 2.6."""
import argparse
import functools
import http.server
import os
import subprocess
import sys
import textwrap
import threading
import types

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

import mmvim  # noqa: F401  (registers the safe loader, as a config's custom_imports does)
from mmvim.utils import load_checkpoint_file
from mmvim.utils.checkpoint import TRUST_ENV
from tests.tiny_runner import tiny_runner

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER_SCRIPT = textwrap.dedent('''
    import sys
    import torch
    from tests.tiny_runner import tiny_runner
    if sys.argv[3] == 'with-mmvim':
        import mmvim  # noqa: F401

    work_dir, epochs = sys.argv[1], int(sys.argv[2])
    runner = tiny_runner(work_dir, train_cfg=dict(by_epoch=True, max_epochs=epochs),
                         default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
                         resume=len(sys.argv) > 4)
    runner.train()
    torch.save(dict(iter=runner.iter, weight=runner.model.linear.weight.detach()),
               f'{work_dir}/final.pt')
''')


def run_training(tmp_path, work_dir, epochs, mmvim_imported=True, resume=False):
    script = tmp_path / 'train_tiny.py'
    script.write_text(RUNNER_SCRIPT)
    args = [sys.executable, str(script), str(work_dir), str(epochs),
            'with-mmvim' if mmvim_imported else 'plain'] + (['resume'] if resume else [])
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)


def test_resume_from_mmengine_checkpoint_with_weights_only(tmp_path):
    resumed, straight = tmp_path / 'resumed', tmp_path / 'straight'
    assert run_training(tmp_path, resumed, 2).returncode == 0
    assert (resumed / 'epoch_2.pth').is_file()
    result = run_training(tmp_path, resumed, 3, resume=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resumed epoch: 2' in result.stdout + result.stderr
    assert run_training(tmp_path, straight, 3).returncode == 0
    a = torch.load(resumed / 'final.pt', weights_only=True)
    b = torch.load(straight / 'final.pt', weights_only=True)
    assert a['iter'] == b['iter'] == 18
    torch.testing.assert_close(a['weight'], b['weight'], rtol=1e-6, atol=1e-7)


def test_resume_fails_without_mmvim(tmp_path):
    """The trap the fix removes: plain mmengine cannot resume on this torch."""
    work_dir = tmp_path / 'plain'
    assert run_training(tmp_path, work_dir, 1, mmvim_imported=False).returncode == 0
    result = run_training(tmp_path, work_dir, 2, mmvim_imported=False, resume=True)
    assert result.returncode != 0
    assert 'weights_only' in result.stderr or 'Unsupported global' in result.stderr


class Payload:
    """Unpickling this runs a command: what a hostile checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def hostile_checkpoint(directory, name='evil.pth'):
    """(path, marker): a checkpoint with weights where they belong and a payload that would
    create ``marker`` when unpickled."""
    marker, path = directory / 'code_ran', directory / name
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {}, 'payload': Payload(marker)},
               path)
    return path, marker


def test_checkpoint_that_runs_code_is_refused(tmp_path):
    path, marker = hostile_checkpoint(tmp_path)
    with pytest.raises(RuntimeError, match='refusing to load .*evil.pth.*--trust-checkpoint'):
        load_checkpoint_file(path)
    # mmengine's load_checkpoint / PretrainedInit go through mmvim's loader: refused there too
    with pytest.raises(RuntimeError, match='refusing to load'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


GETATTR_ESCAPE = textwrap.dedent('''
    """Writes a checkpoint whose pickle calls only names on mmvim's allowlist and tries to load it.
    With the real builtins.getattr among them the pickle reaches exec: getattr(getattr,
    '__self__') is the builtins module, getattr(f, '__globals__') a module's globals, which
    SETITEM (allowed on dicts) rewrites so that torch._utils._rebuild_parameter calls exec."""
    import sys
    import mmvim  # noqa: F401
    from mmvim.utils import load_checkpoint_file
    from tests.crafted_pickles import (BUILD, NONE, SETITEM, TUPLE2, as_checkpoint, call, dict_,
                                       global_, text)

    marker, path = sys.argv[1], sys.argv[2]
    getattr_ = global_('builtins', 'getattr')
    rebuild = global_('torch._utils', '_rebuild_parameter')
    exec_ = call(getattr_, call(getattr_, getattr_, text('__self__')), text('exec'))
    fake_torch = call(global_('argparse', 'Namespace'))  # filled in by BUILD below
    fake_torch += dict_(nn=call(global_('argparse', 'Namespace')) + dict_(Parameter=exec_)
                        + BUILD) + BUILD
    payload = (call(getattr_, rebuild, text('__globals__')) + text('torch') + fake_torch
               + SETITEM
               + call(rebuild, text(f'open({marker!r}, "w").close()'), dict_(), NONE)
               + TUPLE2)
    try:
        load_checkpoint_file(as_checkpoint(payload, path))
    except RuntimeError as err:
        print(err)
''')


def test_allowlisted_names_cannot_reach_module_globals(tmp_path):
    """mmengine's checkpoints need getattr(HistoryBuffer, 'min'); offering the real getattr to
    the unpickler would let a file rewrite a module and run code. Run in a subprocess: the
    attack, if it worked, would leave torch._utils rewritten."""
    script, marker = tmp_path / 'escape.py', tmp_path / 'code_ran'
    script.write_text(GETATTR_ESCAPE)
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(
        [sys.executable, str(script), str(marker), str(tmp_path / 'evil.pth')],
        capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not marker.exists()
    assert 'refusing to load' in result.stdout


def test_runner_load_from_and_resume_refuse_code(tmp_path):
    path, marker = hostile_checkpoint(tmp_path)
    runner = tiny_runner(tmp_path / 'work')
    with pytest.raises(RuntimeError, match='refusing to load'):
        runner.load_checkpoint(str(path))
    with pytest.raises(RuntimeError, match='refusing to load'):
        runner.resume(str(path))
    assert not marker.exists()


def _vision_mamba(init_cfg):
    from mmvim.models import VisionMamba
    return VisionMamba(embed_dim=32, depth=2, img_size=32, out_indices=(1, ), init_cfg=init_cfg)


def _vit_det(init_cfg):
    from mmvim.models import ViTDet
    return ViTDet(embed_dim=32, depth=2, num_heads=2, img_size=32, global_attn_indexes=(1, ),
                  init_cfg=init_cfg)


def _mmseg_vit(init_cfg):  # the DeiT baselines' backbone: mmengine's CheckpointLoader
    from mmseg.models.backbones import VisionTransformer
    return VisionTransformer(img_size=32, embed_dims=32, num_layers=2, num_heads=2,
                             init_cfg=init_cfg)


@pytest.mark.parametrize('build', [_vision_mamba, _vit_det, _mmseg_vit])
def test_pretrained_init_refuses_code(tmp_path, build):
    path, marker = hostile_checkpoint(tmp_path)
    model = build(dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(RuntimeError, match='refusing to load'):
        model.init_weights()
    assert not marker.exists()


def test_http_checkpoints_load_safely(tmp_path, monkeypatch):
    """mmengine unpickles downloads fully (torch.hub's weights_only=False); mmvim's loader
    downloads into torch's hub cache and loads with weights_only=True."""
    served = tmp_path / 'served'
    served.mkdir()
    evil, marker = hostile_checkpoint(served)
    torch.save({'state_dict': {'w': torch.ones(2)}}, served / 'good.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{server.server_address[1]}'
    try:
        good = CheckpointLoader.load_checkpoint(f'{url}/good.pth', map_location='cpu')
        with pytest.raises(RuntimeError, match='refusing to load .*evil.pth'):
            CheckpointLoader.load_checkpoint(f'{url}/{evil.name}', map_location='cpu')
    finally:
        server.shutdown()
    assert torch.equal(good['state_dict']['w'], torch.ones(2))
    assert not marker.exists()


def test_schemes_mmengine_loads_by_itself_are_refused_unless_trusted():
    """Model-zoo names, pavi:// and s3:// go to mmengine's own torch.load calls, outside the
    checked loader."""
    for name in ('torchvision://resnet50', 'open-mmlab://resnet50_v1c', 'mmcls://vit',
                 'pavi://model/1', 's3://bucket/vim.pth', 'cluster:s3://bucket/vim.pth',
                 'petrel://bucket/vim.pth'):
        with pytest.raises(RuntimeError, match='refusing to load .*local path'):
            CheckpointLoader.load_checkpoint(name, map_location='cpu')


def test_legacy_file_loads_only_when_trusted(tmp_path, monkeypatch):
    path = tmp_path / 'legacy.pth'
    torch.save({'model': {'w': torch.ones(2)}, 'cfg': types.SimpleNamespace(lr=0.1)}, path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(RuntimeError, match='refusing to load'):
        load_checkpoint_file(path)
    monkeypatch.setenv(TRUST_ENV, '1')
    assert load_checkpoint_file(path)['cfg'].lr == 0.1


def test_official_checkpoint_with_args_namespace_loads(tmp_path):
    path = tmp_path / 'vim.pth'
    torch.save({'model': {'w': torch.ones(2)}, 'args': argparse.Namespace(lr=1e-3), 'epoch': 3},
               path)
    checkpoint = load_checkpoint_file(path)
    assert checkpoint['args'].lr == 1e-3 and checkpoint['epoch'] == 3


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        load_checkpoint_file(tmp_path / 'nothere.pth')
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='junk.pth'):
        load_checkpoint_file(tmp_path / 'junk.pth')


def damaged_files(directory):
    """name -> (contents, what the error must say): files that are no checkpoint, or a damaged
    one, in each of torch's two formats. Without the check, torch raised a bare KeyError, an
    IndexError or struct.error, or the file was called unsafe."""
    good = directory / 'good.pth'
    torch.save(dict(w=torch.ones(3)), good)
    legacy = directory / 'legacy.pth'
    torch.save(dict(w=torch.ones(3)), legacy, _use_new_zipfile_serialization=False)
    random = os.urandom(4096)
    return {
        'notes.pth': (b'some text\n', "is not a checkpoint: it is text, starting with 'some text"),
        'page.pth': (b'<!DOCTYPE html><html>404</html>',
                     'is not a checkpoint: it is an HTML page'),
        'empty.pth': (b'', 'is not a checkpoint: it is empty'),
        'random.pth': (b'\x01' + random, 'is not a checkpoint: it is binary data'),
        'random_pickle.pth': (b'\x80\x02' + random, 'could not read checkpoint .* it is damaged'),
        'random_zip.pth': (b'PK\x03\x04' + random, 'could not read checkpoint .* it is damaged'),
        'truncated.pth': (good.read_bytes()[:300], 'could not read checkpoint .* it is damaged'),
        'truncated_legacy.pth': (legacy.read_bytes()[:200],
                                 'could not read checkpoint .* it is damaged'),
    }


def test_files_that_are_no_checkpoint_are_named_as_such(tmp_path):
    for name, (contents, message) in damaged_files(tmp_path).items():
        (tmp_path / name).write_bytes(contents)
        with pytest.raises(RuntimeError, match=message) as error:
            load_checkpoint_file(tmp_path / name)
        assert str(tmp_path / name) in str(error.value), name
        assert 'refusing' not in str(error.value) and 'trust' not in str(error.value), name


@pytest.mark.parametrize('value', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_weights_are_named(tmp_path, value):
    weights = dict(backbone=dict(a=torch.ones(4), b=torch.ones(2, 2)), step=torch.tensor(3))
    weights['backbone']['b'][1, 0] = value
    torch.save(dict(state_dict=weights), tmp_path / 'diverged.pth')
    with pytest.raises(RuntimeError, match=f'checkpoint {tmp_path}/diverged.pth holds NaN or '
                                           r'infinite values in state_dict.backbone.b: '):
        load_checkpoint_file(tmp_path / 'diverged.pth')
