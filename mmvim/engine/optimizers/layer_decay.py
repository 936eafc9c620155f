"""Layer-wise learning-rate decay for plain (isotropic) backbones: Vim and DeiT / ViT."""
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

EMBEDDING_NAMES = ('patch_embed', 'pos_embed', 'cls_token')
NO_DECAY_NAMES = ('pos_embed', 'cls_token', 'A_log', 'A_b_log', 'D', 'D_b')


def layer_id(name, num_layers):
    """Depth of a parameter: embeddings 0, backbone block i (``backbone.layers.i.`` or
    ``backbone.blocks.i.``) i + 1, everything else (final backbone norm, neck, heads)
    ``num_layers + 1``."""
    if not name.startswith('backbone.'):
        return num_layers + 1
    name = name[len('backbone.'):]
    if name.startswith(EMBEDDING_NAMES):
        return 0
    if name.startswith(('layers.', 'blocks.')):
        block = int(name.split('.')[1])
        if block >= num_layers:
            raise ValueError(f'layer-wise lr decay: parameter backbone.{name} belongs to block '
                             f'{block}, but paramwise_cfg says num_layers={num_layers}')
        return block + 1
    return num_layers + 1


def no_weight_decay(name, param):
    """Position embedding, class token, A_log / A_b_log, D / D_b, norms and biases (1-d)."""
    return param.ndim <= 1 or name.split('.')[-1] in NO_DECAY_NAMES


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Scale the learning rate of backbone block i by ``decay_rate ** (num_layers + 1 - (i + 1))``.

    Works for any backbone whose blocks are ``backbone.layers.<i>`` (or ``blocks.<i>``) and whose
    embeddings are ``patch_embed`` / ``pos_embed`` / ``cls_token``: mmvim's VisionMamba and ViTDet,
    and mmseg's VisionTransformer (whose own LayerDecayOptimizerConstructor accepts only BEiT, MAE
    and ConvNeXt). Parameters of depth ``num_layers + 1`` (neck, heads) keep the base lr.

    ``paramwise_cfg=dict(num_layers=24, decay_rate=0.92)``. Weight decay is 0 for
    :func:`no_weight_decay` parameters, the base value for the rest. Frozen parameters are left
    out. Each param group records its ``lr_scale`` and ``layer_id``.
    """

    def __call__(self, model):
        optim_wrapper = super().__call__(model)
        # mmengine's registry hands the optimizer its param groups as ConfigDicts, and
        # torch.compile cannot trace an optimizer step over those (mmengine's compile=True
        # compiles train_step, the step included): plain dicts, the same entries
        optimizer = optim_wrapper.optimizer
        optimizer.param_groups = [dict(group) for group in optimizer.param_groups]
        return optim_wrapper

    def add_params(self, params, module, **kwargs):
        cfg = self.paramwise_cfg
        missing = {'num_layers', 'decay_rate'} - set(cfg)
        if missing:
            raise ValueError(f'{type(self).__name__}: paramwise_cfg needs {sorted(missing)}, '
                             f'got {dict(cfg)}')
        num_layers, decay_rate = cfg['num_layers'], cfg['decay_rate']
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            depth, skip_decay = layer_id(name, num_layers), no_weight_decay(name, param)
            group = groups.get((depth, skip_decay))
            if group is None:
                scale = decay_rate**(num_layers + 1 - depth)
                group = groups[(depth, skip_decay)] = dict(
                    params=[], lr=self.base_lr * scale, lr_scale=scale, layer_id=depth)
                if skip_decay or self.base_wd is not None:  # else the optimizer's default
                    group['weight_decay'] = 0.0 if skip_decay else self.base_wd
            group['params'].append(param)
        params.extend(groups[key] for key in sorted(groups))
