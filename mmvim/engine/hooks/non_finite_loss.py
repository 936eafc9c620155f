"""NonFiniteLossHook: stop, or skip the update, when a loss goes NaN or infinite."""
import logging

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

ACTIONS = ('raise', 'skip')


def non_finite_losses(losses):
    """``{name: 'nan' | 'inf'}`` for the loss terms of a model's loss dict that are not finite.

    Loss terms are the entries whose name contains 'loss' (what mmengine's ``parse_losses`` sums),
    each a tensor or a list of tensors; other entries (accuracies) are not checked.
    """
    terms = {}
    for name, value in losses.items():
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if 'loss' in name and values:
            terms[name] = values
    finite = {name: torch.stack([torch.isfinite(t.detach()).all() for t in values]).all()
              for name, values in terms.items()}
    if not finite or torch.stack(list(finite.values())).all():  # one device sync when all fine
        return {}
    return {name: 'nan' if any(torch.isnan(t).any() for t in terms[name]) else 'inf'
            for name, ok in finite.items() if not ok}


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Checks every training loss right after the forward pass, before backward and the step.

    With ``action='raise'`` a NaN or infinite loss stops training with a ``FloatingPointError``
    naming the iteration (1-based, as the log's ``Iter(train) [i/N]``) and the loss terms, raised
    before the weights change, so the model in memory and every checkpoint on disk are those of
    the previous iterations. With ``action='skip'`` the iteration is logged as a warning and its
    update is dropped: the optimizer step sees no gradients, so neither the weights nor the
    optimizer's moments move (the learning-rate schedule still advances, and with gradient
    accumulation the whole accumulated update is dropped). More than ``max_consecutive_skips``
    skipped iterations in a row raise as above: the model has diverged, and skipping would only
    burn compute.

    The check is a forward hook on the model (for calls with ``mode='loss'``) and, for skipping,
    an optimizer step pre-hook: both are torch's public hooks, so the model, the optimizer wrapper
    and the train loop stay mmengine's own (AMP included).

    Args:
        action (str): 'raise' or 'skip'. Defaults to 'raise'.
        max_consecutive_skips (int): with 'skip', how many iterations in a row may be skipped
            before raising. Defaults to 10.
    """

    def __init__(self, action='raise', max_consecutive_skips=10):
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action={action!r}; choose one of {ACTIONS}')
        self.action, self.max_consecutive_skips = action, max_consecutive_skips
        self._handles, self._iteration, self._skipped_in_a_row = [], 0, 0
        self._drop_update = False

    def before_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._handles = [model.register_forward_hook(self._check, with_kwargs=True)]
        if self.action == 'skip':
            self._handles.append(
                runner.optim_wrapper.optimizer.register_step_pre_hook(self._drop_gradients))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._iteration = runner.iter + 1

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        # the accumulated update ended here (stepped, or skipped by AMP's loss scaler)
        if runner.optim_wrapper.should_update():
            self._drop_update = False

    def after_train(self, runner):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _check(self, module, args, kwargs, output):
        if kwargs.get('mode') != 'loss':
            return
        bad = non_finite_losses(output)
        if not bad:
            self._skipped_in_a_row = 0
            return
        terms = ', '.join(f'{name}={value}' for name, value in bad.items())
        if self.action == 'skip' and self._skipped_in_a_row < self.max_consecutive_skips:
            self._skipped_in_a_row += 1
            self._drop_update = True
            print_log(f'non-finite loss at iteration {self._iteration}: {terms}; skipping this '
                      f'update ({self._skipped_in_a_row} in a row)', logger='current',
                      level=logging.WARNING)
            return
        skipped = self._skipped_in_a_row
        after_skips = (f' after {skipped} skipped iteration{"s" if skipped > 1 else ""} in a row'
                       if self.action == 'skip' else '')
        raise FloatingPointError(
            f'non-finite loss at iteration {self._iteration}{after_skips}: {terms}. Training '
            f'stopped before this iteration changed the weights; the checkpoints saved so far are '
            f'intact. See docs/failure_modes.md (lower the learning rate, check the data, or '
            f'skip such iterations with NonFiniteLossHook(action=\'skip\')).')

    def _drop_gradients(self, optimizer, args, kwargs):
        if self._drop_update:
            for group in optimizer.param_groups:
                for param in group['params']:
                    param.grad = None
