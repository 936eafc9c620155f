"""Datasets whose loading failures name the file and the problem.

mmcv's ``LoadImageFromFile`` reports a truncated image as a bare ``failed to load image`` assertion
(OpenCV returns nothing) and an empty file as an OpenCV assertion without the file name; mmseg's
``LoadAnnotations`` reports a truncated PNG as ``image file is truncated``, without the file.

The checks live in the dataset, not in the pipeline: the configs keep mmcv's / mmseg's standard
loading transforms, which is what the inference APIs (``MMSegInferencer``, ``inference_model``,
``DetInferencer``, ``inference_detector``) look for and replace. A dataset with
:class:`CheckedLoading` wraps each loader of its pipeline in :class:`CheckedLoad`: a failed load
is followed by a diagnosis of the file (read, size, decode), so the error says which file and
what is wrong with it; a failure that is not the file's goes on unchanged. The diagnosis runs only
after a failure: loading a good file costs what it costs in mmcv. Any other failure of the
pipeline is re-raised naming the sample's files.
"""
import mmcv
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio

from .bad_sample import BadSampleError, bad_sample, check_policy

# the keys of a sample's data info that hold its files, and what they are called in messages
SAMPLE_FILES = (('img_path', 'image'), ('seg_map_path', 'annotation'))


def image_file_problem(path, kind, backend_args=None, imdecode_backend='cv2'):
    """Why the ``kind`` ('image', 'annotation') file at ``path`` cannot be used, or None if it
    reads and decodes."""
    try:
        data = fileio.get(path, backend_args=backend_args)
    except Exception as err:                 # missing file, no permission, unreachable backend
        return f'cannot read {kind} {path}: {err}'
    if not data:
        return f'{kind} {path} is empty (0 bytes)'
    try:
        image, detail = mmcv.imfrombytes(data, flag='unchanged', backend=imdecode_backend), None
    except Exception as err:                 # Pillow raises where OpenCV returns None
        image, detail = None, f'{type(err).__name__}: {err}'
    if image is None:
        return (f'cannot decode {kind} {path} ({len(data)} bytes; truncated, corrupt or not an '
                f'image?)' + (f': {detail}' if detail else ''))
    return None


class CheckedLoad:
    """A loading transform whose failures name the file.

    Args:
        loader: the transform (``LoadImageFromFile``, mmseg's ``LoadAnnotations``); it has
            ``backend_args`` and ``imdecode_backend``.
        path_key (str): the results key of the file it loads ('img_path', 'seg_map_path').
        kind (str): what the file is, for messages ('image', 'annotation').
        on_bad_sample (str): the :func:`~.bad_sample.bad_sample` policy.
        check (callable, optional): ``check(results)`` after a successful load: a problem
            (str) to apply the policy to, or None.

    If ``loader`` fails and the file cannot be read or decoded, the policy is applied with a
    message naming the file and the problem; other failures propagate unchanged.
    """

    def __init__(self, loader, path_key, kind, on_bad_sample, check=None):
        self.loader, self.path_key, self.kind = loader, path_key, kind
        self.on_bad_sample, self.check = on_bad_sample, check

    def __call__(self, results):
        try:
            results = self.loader(results)
        except Exception as err:
            problem = image_file_problem(results[self.path_key], self.kind,
                                         self.loader.backend_args, self.loader.imdecode_backend)
            if problem is None:
                raise
            return bad_sample(self.on_bad_sample, problem, cause=err)
        problem = None if results is None or self.check is None else self.check(results)
        return results if problem is None else bad_sample(self.on_bad_sample, problem)

    def __repr__(self):
        return f'CheckedLoad({self.loader!r})'


class CheckedLoading:
    """Mixin for mmengine datasets (put it first among the bases): the loaders of the pipeline
    are wrapped in :class:`CheckedLoad` (:meth:`checked_loader` says how), and any other failure
    of the pipeline is re-raised as a RuntimeError naming the sample's files.

    Args:
        on_bad_sample (str): what a file that cannot be used does: 'error' raises
            :class:`~.bad_sample.BadSampleError` naming the file and the problem; 'skip' logs a
            warning naming it and drops the sample, so that mmengine's ``BaseDataset`` draws
            another in training (at test time mmengine refuses a dropped sample: every image must
            be evaluated). Defaults to 'error'.
        *args, **kwargs: the dataset's own arguments.
    """

    def __init__(self, *args, on_bad_sample='error', **kwargs):
        self.on_bad_sample = check_policy(on_bad_sample, type(self).__name__)
        super().__init__(*args, **kwargs)
        self.pipeline.transforms = [self.checked_loader(t) or t for t in self.pipeline.transforms]

    def checked_loader(self, transform):
        """``transform`` wrapped in its checks, or None if it is not a loader this dataset
        checks. Here: mmcv's ``LoadImageFromFile`` (and subclasses)."""
        if not isinstance(transform, LoadImageFromFile):
            return None
        if transform.ignore_empty:
            raise ValueError(f'{type(self).__name__}: LoadImageFromFile(ignore_empty=True) drops '
                             "images silently; use the dataset's on_bad_sample='skip', which "
                             'logs each one')
        return CheckedLoad(transform, 'img_path', 'image', self.on_bad_sample)

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except BadSampleError:
            raise
        except Exception as err:
            info = self.get_data_info(idx)
            files = ', '.join(f'{kind} {info[key]}' for key, kind in SAMPLE_FILES
                              if info.get(key)) or 'no file names in its data info'
            raise RuntimeError(f'{type(self).__name__}: the data pipeline failed on sample {idx} '
                               f'({files}): {type(err).__name__}: {err}') from err
