"""Segmentation datasets whose annotation loading is checked too: an annotation that cannot be
read or decoded is named, and one whose size is not its image's is refused (mmseg would pad or crop
it silently, out of register with the image)."""
from mmseg.datasets import ADE20KDataset
from mmseg.datasets.transforms import LoadAnnotations

from .checked_loading import CheckedLoad, CheckedLoading


def seg_map_size_problem(results):
    """What is wrong with the size of a just-loaded ``gt_seg_map``, or None: it must be its
    image's original size (``ori_shape``, set by the image loader before it)."""
    if 'ori_shape' not in results:
        raise ValueError('the annotation is compared with its image: put LoadAnnotations after '
                         'LoadImageFromFile in the pipeline')
    seg_size, image_size = results['gt_seg_map'].shape[:2], tuple(results['ori_shape'][:2])
    if seg_size == image_size:
        return None
    return (f'annotation {results["seg_map_path"]} is {seg_size[0]}x{seg_size[1]}, but its image '
            f'{results["img_path"]} is {image_size[0]}x{image_size[1]}')


class CheckedSegLoading(CheckedLoading):
    """:class:`CheckedLoading` that also checks mmseg's ``LoadAnnotations``: an annotation map
    that cannot be read or decoded, or whose height x width differs from its image's, is a bad
    sample (``on_bad_sample``)."""

    def checked_loader(self, transform):
        if isinstance(transform, LoadAnnotations):
            return CheckedLoad(transform, 'seg_map_path', 'annotation', self.on_bad_sample,
                               check=seg_map_size_problem)
        return super().checked_loader(transform)


class CheckedADE20KDataset(CheckedSegLoading, ADE20KDataset):
    """mmseg's ``ADE20KDataset`` with checked loading (:class:`CheckedSegLoading`; argument
    ``on_bad_sample``)."""
