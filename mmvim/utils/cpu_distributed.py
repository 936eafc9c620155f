"""Distributed training on CPUs (gloo): what mmengine's pytorch launcher assumes a GPU for.

``tools/dist_train.sh CONFIG N`` on a machine without CUDA starts N processes with torchrun, as on
GPUs. mmengine would then call ``torch.cuda.set_device``, wrap the model in DDP with
``device_ids=[local_rank]`` and keep SyncBN, none of which runs on CPUs. :func:`adapt_to_cpus`
changes the config so that the same run works there (used for CI and for debugging a multi-process
setup on a laptop); GPU runs are untouched.
"""
import torch
import torch.distributed as dist
from mmengine.logging import print_log


def _sync_bn_to_bn(node):
    """Replace ``type='SyncBN'`` by ``'BN'`` everywhere in a (nested) config; returns the count."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        count += sum(_sync_bn_to_bn(value) for value in node)
    return count


def adapt_to_cpus(cfg):
    """For a launcher run without CUDA: start the gloo process group (so mmengine does not start
    its own with ``torch.cuda.set_device``), wrap the model in DDP without device ids (keeping the
    config's other wrapper options), and turn SyncBN into BN, dropping a ``sync_bn`` conversion
    too (each process then keeps its own BN statistics; the weights stay in sync)."""
    if not dist.is_initialized():
        dist.init_process_group('gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.model_wrapper_cfg = {'type': 'MMDistributedDataParallel', 'broadcast_buffers': False,
                             **(cfg.get('model_wrapper_cfg') or {}), 'device_ids': None}
    converted = _sync_bn_to_bn(cfg.model)
    if cfg.pop('sync_bn', None):                 # the runner's BN -> SyncBN conversion
        converted += 1
    print_log(f'no CUDA: training with {dist.get_world_size()} CPU processes over gloo'
              + (f'; {converted} SyncBN layers built as BN' if converted else ''),
              logger='current')


def cpu_launch(launcher):
    """Whether a run with ``launcher`` is distributed over CPUs (torchrun's 'pytorch' launcher;
    slurm and mpi launches without CUDA are refused: they are not set up for gloo here)."""
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise SystemExit(f'--launcher {launcher} without CUDA: only torchrun (--launcher pytorch, '
                         'tools/dist_train.sh) runs on CPUs')
    return True
