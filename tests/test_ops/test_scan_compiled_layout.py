"""The scan's kernels as Triton compiles them for an H100 (sm_90), built offline: no GPU
needed, the compiler (and its ptxas) run on any machine.

The kernels keep one channel on each lane and a channel's states in that thread's registers
(triton_common). Triton chooses that layout from what it can see of the kernel's memory
accesses; when it chose otherwise (states spread over lanes), the forward kernel converted its
state block through shared memory at every position and needed 128 registers instead of 80,
which is what now lets 24 programs stay resident per multiprocessor (docs/kernel_notes.md,
"Why A is channel-fastest"). The backward's second stage sums dB and dC across the lanes by a
reduce-scatter whose results reach the atomics without a conversion (tl.sum's replicated sums
went through shared memory: docs/kernel_notes.md, "Gradient sums"). A compiled kernel that uses
shared memory is one of these regressions.
"""
import os
import subprocess
import sys

import pytest

# Compiled with the arguments specialised as the H100 specialises them for the Vim mixer's
# strides (Vim-S, batch 8, 1025 tokens; read off Triton's cache there): pointers, DIM and the
# batch and length strides of u, delta, z and y 16-divisible, B's and C's state strides 1; the
# backward's gradients taken alike (its specialisation was not read off the cache).
SCRIPT = r'''
import sys
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler.compiler import ASTSource
from mmvim.ops.selective_scan.triton_backward import scan_backward_kernel
from mmvim.ops.selective_scan.triton_forward import scan_forward_kernel
from mmvim.ops.selective_scan.triton_interface import DEFAULT_CONFIG

which, stage, save = sys.argv[1], sys.argv[2], sys.argv[3] != 'no_save'
kernel = scan_forward_kernel if which == 'forward' else scan_backward_kernel
side = 'F' if which == 'forward' else 'B'
flags = dict(OUTPUT=stage == 'output', HAS_F=True, HAS_B=True, HAS_Z=True, HAS_D=True,
             HAS_BIAS=True, SOFTPLUS=True, BD=DEFAULT_CONFIG['BD_' + side], NP=16,
             T=DEFAULT_CONFIG['T'], PACK_F=2, PACK_B=2, NSTATE=16)
if which == 'forward':
    flags['SAVE'] = save
# the saved states and the forward's chunk-end links as a bf16 step has them: bfloat16 (without
# saving, the states' slot is unused); the backward's links float32
fp32 = {'A', 'D', 'bias', 'sum', 'dA', 'dB', 'dC', 'dD', 'dbias'} | (
    {'end'} if which == 'backward' else set())
div16 = {'DIM'} | {f's{x}_{a}' for x in ('y', 'z', 'dz', 'o') for a in 'bt'} | {
    f's{x}_{a}{slot}' for x in ('u', 'dt', 'du', 'ddt') for a in 'bt' for slot in 'fb'}
signature, constants, attrs = {}, {}, {}
for i, name in enumerate(kernel.arg_names):
    stem, _, slot = name.rpartition('_')
    if name in flags or name in ('sB_nf', 'sB_nb', 'sC_nf', 'sC_nb'):
        constants[name] = flags.get(name, 1)
        signature[name] = 'constexpr'
    elif name.endswith('_ptr') or (slot in ('f', 'b') and stem in fp32 | {
            'u', 'dt', 'B', 'C', 'end', 'state', 'du', 'ddt'}):
        signature[name] = '*fp32' if stem in fp32 else '*bf16'
        attrs[(i, )] = [['tt.divisibility', 16]]
    else:
        signature[name] = 'fp32' if name == 'SCALE' else 'i32'
        if name in div16:
            attrs[(i, )] = [['tt.divisibility', 16]]
options = dict(num_warps=DEFAULT_CONFIG['WARPS_' + side])
if sys.argv[3] == 'save':         # 'save_uncapped': as where this Triton would spill under the cap
    options['maxnreg'] = DEFAULT_CONFIG['MAXNREG_SAVE']
compiled = triton.compile(ASTSource(kernel, signature, constants, attrs),
                          target=GPUTarget('cuda', 90, 32), options=options)
print('shared', compiled.metadata.shared)
'''


@pytest.mark.parametrize('which,stage,save', [
    ('forward', 'chunk_pass', 'no_save'), ('forward', 'output', 'no_save'),
    ('forward', 'output', 'save'), ('forward', 'output', 'save_uncapped'),
    ('backward', 'chunk_pass', 'no_save'),
    ('backward', 'output', 'no_save')])
def test_kernel_needs_no_shared_memory_on_sm90(which, stage, save):
    """The forward's stage 1, its stage 2 in inference and in training (saving the tile
    states, under the register cap and without it), and the backward's two stages (the second
    with the dB / dC sums)."""
    pytest.importorskip('triton.backends.nvidia.compiler')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # a fresh interpreter without TRITON_INTERPRET: the kernels must be real Triton functions
    env = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}
    env['PYTHONPATH'] = os.pathsep.join(
        [root] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    result = subprocess.run([sys.executable, '-c', SCRIPT, which, stage, save], env=env,
                            cwd=root, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ['shared', '0'], result.stdout
