"""Triton launches with less host work, for kernels launched again and again with arguments of
the same kind (every op runs once per block and step).

``kernel[grid](*args, **kwargs)`` binds and specialises every argument at each call and looks
the compiled kernel up by a string made of that specialisation. On the GPU machine's host
(Triton 3.6) that is ~75 us for the selective scan's 74 parameters, of which ~50 us is the
binding and the lookup; launching the compiled kernel itself takes ~25 us
(docs/kernel_notes.md, "Host launches"). :class:`CachedLaunch` keeps the compiled kernel Triton
chose at the first call under a key the caller computes, and launches it directly afterwards.

The caller's key must determine everything Triton specialises on: the dtype and 16-byte
alignment of every tensor argument, and for every integer argument whether it is 1, a multiple
of 16 or beyond int32 (keys built from the inputs' shapes, strides, dtypes and
``data_ptr() % 16`` do, when every other argument follows from them and new buffers come from
PyTorch's allocator, which aligns them to 512 bytes), and the device. With ``VERIFY`` set (the
CUDA tests set it), every cached launch also asks Triton which compiled kernel it would use and
raises if that is not the cached one. Under the Triton interpreter nothing is cached.
"""
# Tests set this: check every cached launch against Triton's own choice of compiled kernel
# (and the selective scan's cached launch plans against fresh ones).
VERIFY = False
# Keys kept per kernel; past this (shapes that never repeat) the cache starts again.
MAX_ENTRIES = 4096


class CachedLaunch:
    """``launch(key, grid, *args, **kwargs)`` runs ``kernel[grid](*args, **kwargs)``.

    ``kwargs`` are the kernel's trailing parameters (constexpr flags) and launch options
    (``num_warps``), and go into the key; ``key`` covers ``args`` as the module docstring says.
    ``grid`` has one to three entries.
    """

    def __init__(self, kernel):
        self.kernel = kernel
        self._compiled = {}

    def __call__(self, key, grid, *args, **kwargs):
        key = (key, tuple(kwargs.items()))
        entry = self._compiled.get(key)
        if entry is None:
            from triton.compiler import CompiledKernel
            compiled = self.kernel[grid](*args, **kwargs)
            if isinstance(compiled, CompiledKernel):    # not under the interpreter
                if len(self._compiled) >= MAX_ENTRIES:  # endlessly varying shapes
                    self._compiled.clear()
                tail = [kwargs[name] for name in self.kernel.arg_names[len(args):]]
                self._compiled[key] = (compiled, tail)
            return
        compiled, tail = entry
        if VERIFY:
            chosen = self.kernel.warmup(*args, grid=grid, **kwargs)
            if chosen is not compiled:
                name = getattr(self.kernel, '__name__', 'kernel')
                raise AssertionError(f'{name}: launch key {key!r} does not determine the '
                                     'compiled kernel Triton chose')
        compiled[tuple(grid) + (1, ) * (3 - len(grid))](*args, *tail)


def alignment_key(*tensors):
    """Per tensor (or None): shape, strides, dtype and address modulo 16 bytes, and the first
    tensor's device: a launch key for kernels whose other arguments follow from these."""
    first = next(t for t in tensors if t is not None)
    return (first.device, ) + tuple(
        None if t is None else (t.shape, t.stride(), t.dtype, t.data_ptr() % 16)
        for t in tensors)


_LAUNCHES = {}


def launch(kernel, key, grid, *args, **kwargs):
    """``kernel[grid](*args, **kwargs)`` through the kernel's :class:`CachedLaunch`."""
    cached = _LAUNCHES.get(kernel)
    if cached is None:
        cached = _LAUNCHES[kernel] = CachedLaunch(kernel)
    cached(key, grid, *args, **kwargs)
