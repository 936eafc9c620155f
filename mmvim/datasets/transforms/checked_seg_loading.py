"""Segmentation-annotation loading that names the file of a bad annotation and refuses one whose
size is not its image's (mmseg would pad or crop it silently, out of register with the image)."""
from mmseg.datasets.transforms import LoadAnnotations

from ..bad_sample import bad_sample, check_policy
from .checked_loading import load_checked


class CheckedLoadAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` with two checks: an annotation that cannot be read or decoded
    (missing, empty, truncated) and one whose height x width differs from its image's raise
    :class:`BadSampleError` naming the files and the problem, or are dropped with a warning.

    Put it after the image loader (it compares with the image's original size, ``ori_shape``;
    it may come after ``Resize``, as in mmseg's test pipelines).

    Args:
        on_bad_sample (str): 'error' or 'skip', as :class:`CheckedLoadImageFromFile`.
            Defaults to 'error'.
        **kwargs: ``LoadAnnotations``'s arguments.
    """

    def __init__(self, on_bad_sample='error', **kwargs):
        super().__init__(**kwargs)
        self.on_bad_sample = check_policy(on_bad_sample, type(self).__name__)

    def transform(self, results):
        if 'ori_shape' not in results:
            raise KeyError('CheckedLoadAnnotations compares the annotation with its image: put '
                           'it after the image loader in the pipeline')
        seg_path = results['seg_map_path']
        results = load_checked(super().transform, results, seg_path, 'annotation',
                               self.on_bad_sample, self.backend_args, self.imdecode_backend)
        if results is None:
            return None
        seg_size, image_size = results['gt_seg_map'].shape[:2], tuple(results['ori_shape'][:2])
        if seg_size != image_size:
            return bad_sample(self.on_bad_sample,
                              f'annotation {seg_path} is {seg_size[0]}x{seg_size[1]}, but its '
                              f'image {results["img_path"]} is {image_size[0]}x{image_size[1]}')
        return results
