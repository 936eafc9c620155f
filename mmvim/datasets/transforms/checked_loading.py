"""Image loading whose failures name the file and the problem.

mmcv's ``LoadImageFromFile`` reports a truncated image as a bare ``failed to load image`` assertion
(OpenCV returns nothing) and an empty file as an OpenCV assertion without the file name; mmseg's
``LoadAnnotations`` reports a truncated PNG as ``image file is truncated``, without the file. Here
a failed load is followed by a diagnosis of the file (read, size, decode), so the error says which
file and what is wrong with it; a failure that is not the file's goes on unchanged. The diagnosis
runs only after a failure: loading a good file costs what it costs in mmcv.
"""
import mmcv
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio

from ..bad_sample import bad_sample, check_policy


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


def load_checked(load, results, path, kind, on_bad_sample, backend_args, imdecode_backend):
    """``load(results)``; if it fails because the file at ``path`` cannot be read or decoded,
    the ``on_bad_sample`` policy (:func:`bad_sample`) with a message naming the file and the
    problem. Other failures propagate unchanged."""
    try:
        return load(results)
    except Exception as err:
        problem = image_file_problem(path, kind, backend_args, imdecode_backend)
        if problem is None:
            raise
        return bad_sample(on_bad_sample, problem, cause=err)


class CheckedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile``; a missing, unreadable, empty, truncated or corrupt image
    raises :class:`BadSampleError` naming the file and the problem, or is dropped with a warning.

    Args:
        on_bad_sample (str): 'error' raises; 'skip' logs a warning naming the file and returns
            None, so that mmengine's ``BaseDataset`` draws another sample in training (at test
            time mmengine refuses a dropped sample: every image must be evaluated).
            Defaults to 'error'.
        **kwargs: ``LoadImageFromFile``'s arguments, but ``ignore_empty``, which drops samples
            silently ('skip' replaces it).
    """

    def __init__(self, on_bad_sample='error', **kwargs):
        if kwargs.get('ignore_empty'):
            raise ValueError("CheckedLoadImageFromFile: ignore_empty drops images silently; "
                             "use on_bad_sample='skip', which logs each one")
        super().__init__(**kwargs)
        self.on_bad_sample = check_policy(on_bad_sample, type(self).__name__)

    def transform(self, results):
        return load_checked(super().transform, results, results['img_path'], 'image',
                            self.on_bad_sample, self.backend_args, self.imdecode_backend)
