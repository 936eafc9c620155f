"""Backend choice shared by the ops: Triton kernels on CUDA, PyTorch elsewhere."""
import importlib.util


def triton_available():
    return importlib.util.find_spec('triton') is not None


def resolve_backend(backend, device, op, choices):
    """The backend of ``op`` for tensors on ``device``.

    ``backend=None`` picks 'triton' for CUDA tensors when Triton is importable, else 'torch';
    otherwise it must be one of ``choices``. Errors name the op and the valid choices.
    """
    if backend is None:
        return 'triton' if device.type == 'cuda' and triton_available() else 'torch'
    if backend not in choices:
        raise ValueError(f'{op}: unknown backend {backend!r}; choose one of {choices}')
    if backend == 'triton' and not triton_available():
        raise RuntimeError(f"{op}: backend='triton' was asked for but Triton is not installed "
                           '(pip install triton)')
    return backend


def two_path_backend(backend):
    """Backend of an op with only 'triton' and 'torch' paths, given a selective-scan backend
    choice: the scan's 'reference' (its plain specification) runs such an op in PyTorch."""
    return 'torch' if backend == 'reference' else backend
