"""Does a checkpoint's state dict fit a model? A strict check that lists every mismatch, for
loads that must be exact (a backbone's ``init_cfg``, ``tools/test.py``), and a loose one for
mmengine's ``load_from``, which loads what matches and only logs the rest."""
import re

# mmengine's load_from reads 'state_dict' when present and strips DDP's prefix (revise_keys)
MODULE_PREFIX = re.compile(r'^module\.')


def check_state_dict_fits(model, state_dict, source, description, hint=None):
    """Check that ``state_dict`` has exactly ``model``'s keys and shapes.

    Args:
        model (nn.Module): the backbone (or the whole model).
        state_dict (dict): already fitted to the model (dropped keys removed, pos_embed resized).
        source (str): the checkpoint's name, for the error.
        description (str): the model, for the error, e.g. 'VisionMamba (embed_dim=192, ...)'.
        hint (str, optional): a last line for the error, e.g. from :func:`variant_hint`.

    Raises:
        ValueError: one line each for the missing, unexpected and mis-shaped keys (the first 12
            of each), so a checkpoint of another variant is recognised at a glance, and ``hint``.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = sorted(f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
                        f'{tuple(expected[k].shape)}' for k in set(expected) & set(state_dict)
                        if state_dict[k].shape != expected[k].shape)
    if missing or unexpected or mis_shaped:
        report = [f'{source} does not fit this {description}:']
        for title, keys in (('missing', missing), ('unexpected', unexpected),
                            ('mis-shaped', mis_shaped)):
            if keys:
                shown = ', '.join(keys[:12])
                if len(keys) > 12:
                    shown += f' ... ({len(keys)} in all)'
                report.append(f'  {title} keys: {shown}')
        if hint:
            report.append(f'  hint: {hint}')
        raise ValueError('\n'.join(report))


def _loaded_state_dict(checkpoint):
    """The state dict mmengine's ``load_from`` takes from ``checkpoint``."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    return {MODULE_PREFIX.sub('', k): v for k, v in state_dict.items()
            if hasattr(v, 'shape')}


def _describe(checkpoint, expected):
    """What a checkpoint that does not fit a whole model holds, in a sentence."""
    entries = list(checkpoint) if isinstance(checkpoint, dict) else []
    official = checkpoint.get('model') if isinstance(checkpoint, dict) else None
    state_dict = official if isinstance(official, dict) else _loaded_state_dict(checkpoint)
    backbone = sum(f'backbone.{k}' in expected for k in state_dict)
    if backbone > len(state_dict) / 2:
        where = "its 'model' entry" if official is state_dict else 'it'
        return (f"{where} holds a backbone's weights ({backbone} of its {len(state_dict)} "
                "tensors are the model's 'backbone.*' entries without that prefix), as the "
                'official Vim and DeiT checkpoints do')
    return f'its top-level entries are {entries[:8]}'


def check_mostly_fits(model, checkpoint, source):
    """Refuse a ``load_from`` checkpoint that fits less than half of ``model``'s state dict:
    mmengine would load the few entries that match, log the rest as missing and train from the
    random initialisation.

    Args:
        model (nn.Module): the whole model (segmentor, detector).
        checkpoint (dict): the loaded file.
        source (str): its name, for the error.

    Raises:
        ValueError: how much fits, what the file holds, and how to start from backbone weights.
    """
    expected = model.state_dict()
    state_dict = _loaded_state_dict(checkpoint)
    fitting = sum(k in state_dict and tuple(state_dict[k].shape) == tuple(v.shape)
                  for k, v in expected.items())
    if fitting >= len(expected) / 2:
        return
    raise ValueError(
        f'load_from={source} fits {fitting} of the {len(expected)} entries of the model\'s '
        f'state dict, so the model would train from its random initialisation: '
        f'{_describe(checkpoint, expected)}. load_from takes a whole model\'s checkpoint (as '
        f'tools/train.py saves them). To start the backbone from backbone weights, set '
        f"model.backbone.init_cfg=dict(type='Pretrained', checkpoint='{source}') instead of "
        f'load_from (or convert the file once with tools/model_converters/vim2mmvim.py or '
        f'deit2mmseg.py).')
