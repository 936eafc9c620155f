"""What mmvim's data checks do with a sample they cannot use: raise an error that names the file
and the problem, or, where the config says ``on_bad_sample='skip'``, log a warning and drop it."""
import logging

from mmengine.logging import print_log

ON_BAD_SAMPLE = ('error', 'skip')


class BadSampleError(ValueError):
    """A sample that cannot be used; the message names its file and the problem."""


def check_policy(on_bad_sample, owner):
    """``on_bad_sample``, after checking it is one of :data:`ON_BAD_SAMPLE`."""
    if on_bad_sample not in ON_BAD_SAMPLE:
        raise ValueError(f'{owner}: on_bad_sample={on_bad_sample!r}; choose one of '
                         f'{ON_BAD_SAMPLE}')
    return on_bad_sample


def bad_sample(on_bad_sample, problem, cause=None):
    """Apply the policy to a bad sample described by ``problem``.

    'error' raises :class:`BadSampleError` (chained to ``cause``); 'skip' logs ``problem`` as a
    warning to the current mmengine logger (the run's log) and returns None, which drops the
    sample: a loading transform that returns None makes mmengine's ``BaseDataset`` draw another
    sample in training.
    """
    if on_bad_sample == 'error':
        raise BadSampleError(f"{problem}; on_bad_sample='skip' in the config drops such "
                             'samples with a warning') from cause
    print_log(f'skipped a bad sample: {problem}', logger='current', level=logging.WARNING)
    return None
