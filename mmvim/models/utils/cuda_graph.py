"""CUDA-graph replay: one launch per forward (and backward) instead of hundreds.

At small batches a Vim backbone is bound by the CPU: every block launches a dozen kernels, each
costing more CPU time than GPU time. :class:`CUDAGraphRunner` captures a function's whole forward
once per input signature and replays it (inference); :class:`GraphedTraining` does the same for
the forward and the backward of a module in training.
"""
import gc
from collections import OrderedDict

import torch
from torch import nn


def graph_signature(x):
    """What a captured graph depends on besides the weights: the input's shape, dtype and
    device, the CUDA autocast state and whether inference mode is on."""
    return (tuple(x.shape), x.dtype, x.device, torch.is_autocast_enabled('cuda'),
            torch.get_autocast_dtype('cuda'), torch.is_inference_mode_enabled())


class CUDAGraphRunner:
    """Replays CUDA graphs of ``fn`` captured per input signature.

    The signature is the input's shape, dtype and device, the CUDA autocast state and whether
    inference mode is on. The first
    call with a new signature runs ``fn`` twice on a side stream (compiling Triton kernels and
    choosing cuBLAS algorithms), then captures it; later calls copy the input into the captured
    buffer, replay, and return copies of the outputs (so they survive the next replay).

    Args:
        fn: callable (tensor) -> tuple of tensors, free of CPU synchronisation and of
            data-dependent control flow; it must not change while graphs are cached (make a
            new runner after replacing weights or moving the module, as VisionMamba does).
        max_graphs: signatures kept (least recently used dropped first): each graph holds the
            activation memory of its input size.
    """

    def __init__(self, fn, max_graphs=8):
        self.fn = fn
        self.max_graphs = max_graphs
        self.graphs = OrderedDict()

    def __call__(self, x):
        if not x.is_cuda or torch.is_grad_enabled():
            raise RuntimeError('CUDAGraphRunner: inference only: a CUDA input under no_grad, got '
                               f'device {x.device}, grad enabled {torch.is_grad_enabled()}')
        key = graph_signature(x)
        with torch.cuda.device(x.device):
            if key not in self.graphs:
                self.graphs[key] = self._capture(x)
                while len(self.graphs) > self.max_graphs:
                    self.graphs.popitem(last=False)
            self.graphs.move_to_end(key)
            graph, static_input, static_outputs = self.graphs[key]
            static_input.copy_(x)
            graph.replay()
            return tuple(out.clone() for out in static_outputs)

    def _capture(self, x):
        static_input = x.clone()
        side = torch.cuda.Stream(device=x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self.fn(static_input)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # autocast's weight-cast cache must not hold tensors made during capture
        with torch.cuda.graph(graph), torch.autocast(
                'cuda', dtype=torch.get_autocast_dtype('cuda'),
                enabled=torch.is_autocast_enabled('cuda'), cache_enabled=False):
            static_outputs = tuple(self.fn(static_input))
        return graph, static_input, static_outputs


class _Call(nn.Module):
    """``fn`` as a module whose parameters are ``module``'s (what make_graphed_callables needs
    to return the parameters' gradients)."""

    def __init__(self, module, fn):
        super().__init__()
        self.module, self.fn = module, fn

    def forward(self, x):
        return tuple(self.fn(x))


class GraphedTraining:
    """Training forward + backward of ``module`` by CUDA-graph replay, one pair of graphs per
    input signature (:func:`graph_signature`), made by ``torch.cuda.make_graphed_callables``.

    A call returns ``fn(x)``'s outputs as tensors whose backward replays the captured backward
    graph. The first call with a new signature (also keyed on ``x.requires_grad`` and on the
    parameters' ``requires_grad`` flags) runs three warm-up iterations (no gradients kept) and
    captures. Captured under autocast with its weight-cast cache off (make_graphed_callables
    refuses the cache), in whatever autocast state the call is made.

    Gradients: the backward graph hands each parameter its static gradient buffer, which autograd
    stores as ``.grad`` when that is None, and the next replay overwrites. So a call refuses to run
    while any parameter still holds a gradient: clear them with ``zero_grad(set_to_none=True)``
    before each forward, with one backward per forward (no gradient accumulation over several
    backwards, no ``set_to_none=False``). Several GPUs (DDP) are untried.

    Conditions, as for any CUDA graph: the parameters are updated in place (optimizers do) and
    not replaced (make a new one after moving or reloading the module); ``fn`` is free of CPU
    synchronisation and data-dependent control flow; no module in ``module`` has hooks (checked
    at capture); the outputs are the graph's buffers, which the next replay overwrites. Random
    ops (drop path) draw new numbers at each replay. Each kept signature holds a training step's
    working memory.

    Args:
        module (nn.Module): owns the parameters ``fn`` uses.
        fn: callable (tensor) -> sequence of tensors; defaults to ``module`` itself.
        max_graphs (int): signatures kept (least recently used dropped first).
    """

    def __init__(self, module, fn=None, max_graphs=4):
        self.module, self.fn = module, fn if fn is not None else module
        self.max_graphs = max_graphs
        self.graphs = OrderedDict()

    def __call__(self, x):
        params = list(self.module.named_parameters())
        held = [name for name, p in params if p.grad is not None]
        if held:
            raise RuntimeError(
                f'GraphedTraining: parameter {held[0]!r} (and {len(held) - 1} more) still holds a '
                'gradient; the graphed backward would overwrite it instead of accumulating: call '
                'zero_grad(set_to_none=True) before each forward, one backward per forward')
        if not x.is_cuda or not torch.is_grad_enabled() or torch.is_inference_mode_enabled():
            raise RuntimeError(
                'GraphedTraining: training only: a CUDA input with grad enabled outside inference '
                f'mode, got device {x.device}, grad enabled {torch.is_grad_enabled()}')
        key = (graph_signature(x), x.requires_grad,
               tuple(p.requires_grad for _, p in params))
        autocast = dict(device_type='cuda', dtype=torch.get_autocast_dtype('cuda'),
                        enabled=torch.is_autocast_enabled('cuda'), cache_enabled=False)
        with torch.cuda.device(x.device), torch.autocast(**autocast):
            if key not in self.graphs:
                hooked = [name for name, m in self.module.named_modules()
                          if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                          or m._backward_pre_hooks]
                if hooked:
                    raise RuntimeError(f'GraphedTraining: module {hooked[0]!r} has hooks, which '
                                       'a CUDA graph would run only while capturing')
                sample = x.detach().clone().requires_grad_(x.requires_grad)
                self.graphs[key] = torch.cuda.make_graphed_callables(
                    _Call(self.module, self.fn), (sample,), allow_unused_input=True)
                while len(self.graphs) > self.max_graphs:
                    self.graphs.popitem(last=False)
                    gc.collect()
            self.graphs.move_to_end(key)
            return self.graphs[key](x)
