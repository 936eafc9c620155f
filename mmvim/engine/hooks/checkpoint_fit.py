"""CheckpointFitHook: a checkpoint the runner loads must be one of this model."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmvim.utils import check_mostly_fits


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stops a run whose ``load_from`` (or resumed) checkpoint fits less than half of the model's
    state dict, with a message saying what the file holds and how to load backbone weights
    (:func:`mmvim.utils.check_mostly_fits`).

    mmengine's ``load_from`` is not strict, so that fine-tuning can drop a head: an official
    Vim checkpoint (``{'model': backbone weights}``) there would load nothing, log every key as
    missing and train from the random initialisation. The hook sees each checkpoint after it is
    read and before it goes into the model.
    """

    def after_load_checkpoint(self, runner, checkpoint):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_mostly_fits(model, checkpoint, runner.cfg.get('load_from') or 'the checkpoint')
