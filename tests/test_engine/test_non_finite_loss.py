"""NonFiniteLossHook in a real mmengine training run whose data make one loss NaN: it stops
before the weights change, naming the iteration and the loss, or skips exactly that update."""
import pytest
import torch
from mmengine.hooks import Hook

import mmvim  # noqa: F401
from mmvim.engine.hooks.non_finite_loss import NonFiniteLossHook, non_finite_losses
from tests.tiny_runner import tiny_runner

NAN_SAMPLE = 2  # batch 1, no shuffling: sample i is iteration i + 1


class UpdateRecorder(Hook):
    """Copies the weight and SGD's momentum buffer after every iteration (index i: iteration
    i + 1)."""
    priority = 'LOWEST'

    def __init__(self):
        self.weights, self.momenta = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        weight = runner.model.linear.weight
        self.weights.append(weight.detach().clone())
        self.momenta.append(runner.optim_wrapper.optimizer.state[weight]['momentum_buffer'].clone())


def runner_with(tmp_path, hook, nan_at=(NAN_SAMPLE, ), max_iters=5):
    recorder = UpdateRecorder()
    runner = tiny_runner(tmp_path, train_cfg=dict(by_epoch=False, max_iters=max_iters),
                         shuffle=False, nan_at=nan_at, custom_hooks=[hook, recorder])
    return runner, recorder


def test_nan_loss_stops_before_the_weights_change(tmp_path):
    runner, recorded = runner_with(tmp_path, NonFiniteLossHook())
    with pytest.raises(FloatingPointError,
                       match=r'non-finite loss at iteration 3: loss_fit=nan\. Training stopped '
                             r'before this iteration changed the weights'):
        runner.train()
    assert len(recorded.weights) == 2
    assert torch.equal(runner.model.linear.weight, recorded.weights[1])


def test_skip_drops_exactly_the_nan_update(tmp_path):
    runner, recorded = runner_with(tmp_path, NonFiniteLossHook(action='skip'))
    runner.train()
    assert runner.iter == 5 and len(recorded.weights) == 5
    # momentum SGD would move the weights even with a zero gradient: the step really is dropped
    assert torch.equal(recorded.weights[2], recorded.weights[1])
    assert torch.equal(recorded.momenta[2], recorded.momenta[1])
    assert not torch.equal(recorded.weights[3], recorded.weights[2])
    assert all(torch.isfinite(w).all() for w in recorded.weights)
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'non-finite loss at iteration 3: loss_fit=nan; skipping this update (1 in a row)' in log


def test_too_many_skips_in_a_row_raise(tmp_path):
    runner, recorded = runner_with(
        tmp_path, NonFiniteLossHook(action='skip', max_consecutive_skips=2), nan_at=range(1, 24))
    with pytest.raises(FloatingPointError, match='iteration 4 after 2 skipped iterations in a row'):
        runner.train()
    assert all(torch.equal(w, recorded.weights[0]) for w in recorded.weights[1:])


def test_only_loss_terms_are_checked_and_named():
    nan, inf = torch.tensor(float('nan')), torch.tensor(float('inf'))
    losses = {'decode.loss_ce': torch.tensor(1.0), 'decode.acc_seg': nan,
              'loss_rpn_cls': [torch.tensor(0.5), inf], 'aux.loss_ce': torch.full((2, ), nan)}
    assert non_finite_losses(losses) == {'loss_rpn_cls': 'inf', 'aux.loss_ce': 'nan'}
    assert non_finite_losses({'decode.loss_ce': torch.tensor(1.0), 'acc': nan}) == {}


def test_unknown_action_is_refused():
    with pytest.raises(ValueError, match="action='ignore'"):
        NonFiniteLossHook(action='ignore')
