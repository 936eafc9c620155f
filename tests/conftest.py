import os

import pytest
import torch

# Triton kernels run on CPU tensors under the interpreter; it must be switched on before the
# kernels are defined, i.e. before mmvim's Triton modules are imported.
if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU (run pytest -m cuda on the GPU machine)')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_default_scope():
    """mmengine makes the newest DefaultScope (every Runner creates one) the process-wide scope
    that registry builds switch to; restore the scopes after each test so that no test depends on
    which ran before it."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture(autouse=True)
def verify_cached_launches(monkeypatch):
    """On a GPU, every cached Triton launch (mmvim.ops.launcher) also asks Triton which compiled
    kernel its arguments select and fails the test if the cache's key picked another one."""
    from mmvim.ops import launcher
    monkeypatch.setattr(launcher, 'VERIFY', True)
