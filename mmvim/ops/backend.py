"""What every op's public function shares: one set of backend names, the choice between them, and
the dtype check of its tensor arguments.

Backends (``backend=``), the same names for every op:
    'triton'     fused Triton kernels: CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``
                 (Triton's interpreter, how CPU tests run the kernel code);
    'torch'      the op's fast PyTorch path (the CPU default);
    'reference'  its plain specification (``reference.py``); where the specification is the
                 PyTorch path, 'torch' and 'reference' run the same code.
``backend=None`` picks 'triton' for CUDA tensors when Triton is importable, else 'torch'.
"""
import importlib.util
import os

import torch

BACKENDS = ('triton', 'torch', 'reference')
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def triton_available():
    return importlib.util.find_spec('triton') is not None


def triton_interpreter_on():
    """Whether Triton's interpreter runs the kernels (``TRITON_INTERPRET`` set true)."""
    return os.environ.get('TRITON_INTERPRET', '0').lower() in ('1', 'true', 'on', 'yes')


def resolve_backend(backend, device, op):
    """The backend of ``op`` for tensors on ``device`` (see the module docstring); errors name
    the op."""
    if backend is None:
        return 'triton' if device.type == 'cuda' and triton_available() else 'torch'
    if backend not in BACKENDS:
        raise ValueError(f'{op}: unknown backend {backend!r}; choose one of {BACKENDS}')
    if backend == 'triton':
        if not triton_available():
            raise RuntimeError(f"{op}: backend='triton' was asked for but Triton is not "
                               'installed (pip install triton)')
        if device.type != 'cuda' and not triton_interpreter_on():
            raise ValueError(f"{op}: backend='triton' runs on CUDA tensors, these are on "
                             f'{device} (on CPU tensors only under TRITON_INTERPRET=1, '
                             "Triton's interpreter); leave backend=None to pick the path")
    return backend


def check_float(op, tensors):
    """Raise a ValueError naming the first of ``tensors`` ({name: tensor or None}) that is not
    float16, bfloat16, float32 or float64 (integer, bool and complex tensors would be truncated
    or refused deep inside the kernels)."""
    for name, t in tensors.items():
        if t is not None and t.dtype not in FLOAT_DTYPES:
            raise ValueError(f'{op}: {name} must be a floating-point tensor (float16, bfloat16, '
                             f'float32 or float64), got {t.dtype}')
