"""Inference by CUDA-graph replay: one launch per forward instead of hundreds.

At small batches a Vim backbone is bound by the CPU: every block launches a dozen kernels, each
costing more CPU time than GPU time. :class:`CUDAGraphRunner` captures a function's whole forward
once per input signature and replays it.
"""
from collections import OrderedDict

import torch


class CUDAGraphRunner:
    """Replays CUDA graphs of ``fn`` captured per input signature.

    The signature is the input's shape, dtype and device, the CUDA autocast state and whether
    inference mode is on. The first
    call with a new signature runs ``fn`` twice on a side stream (compiling Triton kernels and
    choosing cuBLAS algorithms), then captures it; later calls copy the input into the captured
    buffer, replay, and return copies of the outputs (so they survive the next replay).

    Args:
        fn: callable (tensor) -> tuple of tensors, free of CPU synchronisation and of
            data-dependent control flow; it must not change while graphs are cached (call
            :meth:`clear` after replacing weights or moving the module).
        max_graphs: signatures kept (least recently used dropped first): each graph holds the
            activation memory of its input size.
    """

    def __init__(self, fn, max_graphs=8):
        self.fn = fn
        self.max_graphs = max_graphs
        self.graphs = OrderedDict()

    def clear(self):
        self.graphs.clear()

    def __call__(self, x):
        if not x.is_cuda or torch.is_grad_enabled():
            raise RuntimeError('CUDAGraphRunner: inference only: a CUDA input under no_grad, got '
                               f'device {x.device}, grad enabled {torch.is_grad_enabled()}')
        key = (tuple(x.shape), x.dtype, x.device, torch.is_autocast_enabled('cuda'),
               torch.get_autocast_dtype('cuda'), torch.is_inference_mode_enabled())
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
