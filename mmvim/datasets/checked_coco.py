"""COCO instances whose broken annotations and unreadable images are refused by name instead of
ignored or crashed on.

mmdet's ``CocoDataset`` turns a polygon of fewer than 3 points or an odd number of coordinates
into a silently ignored instance, fails on a flat coordinate list with ``object of type 'float'
has no len()``, and passes non-finite coordinates to pycocotools, whose rasteriser then crashes the
process (a segmentation fault, or killed for memory). It also drops, without a word, an
annotation whose box has a negative width or height and one whose category id is not among the
json's categories. None of these names the annotation.
"""
import logging
import math

from mmdet.datasets import CocoDataset
from mmengine.logging import print_log

from .bad_sample import bad_sample
from .checked_loading import CheckedLoading


def _polygon_problem(polygon):
    if not isinstance(polygon, (list, tuple)):
        return (f'a polygon must be a list of coordinates [x1, y1, x2, y2, ...], got '
                f'{type(polygon).__name__} {polygon!r}')
    try:
        total = sum(polygon)             # fast: one pass in C; NaN or inf anywhere stays there
    except TypeError:
        total = None
    if total is None or not math.isfinite(total):
        shown = ', '.join(map(repr, polygon[:8])) + (', ...' if len(polygon) > 8 else '')
        return f'polygon [{shown}] has non-numeric or non-finite coordinates'
    if len(polygon) % 2:
        return f'polygon has an odd number of coordinates ({len(polygon)})'
    if len(polygon) < 6:
        return f'polygon has {len(polygon) // 2} points; a polygon needs at least 3'
    return None


def segmentation_problem(segmentation):
    """What is wrong with a COCO ``segmentation`` entry (polygons or RLE), or None."""
    if isinstance(segmentation, dict):
        if not isinstance(segmentation.get('counts'), (list, str, bytes)) or len(
                segmentation.get('size') or ()) != 2:
            return 'RLE segmentation needs "counts" (list or string) and "size" [height, width]'
        return None
    if not isinstance(segmentation, list) or not segmentation:
        return 'segmentation must be a non-empty list of polygons or an RLE dict'
    for polygon in segmentation:
        problem = _polygon_problem(polygon)
        if problem:
            return problem
    return None


def bbox_problem(bbox):
    """What is wrong with a COCO ``bbox`` entry [x, y, width, height], or None. A box of width
    or height below one pixel, or outside its image, is not wrong: mmdet drops it on purpose."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        return f'bbox must be [x, y, width, height], got {bbox!r}'
    try:
        finite = all(math.isfinite(value) for value in bbox)
    except TypeError:
        finite = False
    if not finite:
        return f'bbox {bbox} has non-numeric or non-finite values'
    if bbox[2] < 0 or bbox[3] < 0:
        return f'bbox {bbox} has a negative width or height'
    return None


class CheckedCocoDataset(CheckedLoading, CocoDataset):
    """mmdet's ``CocoDataset`` that checks every annotation while reading the json, and loads
    images through :class:`~.checked_loading.CheckedLoading`.

    A polygon with fewer than 3 points, an odd number of coordinates, or non-numeric or
    non-finite values, a flat coordinate list, a malformed RLE, a bbox that is not four finite
    numbers or has a negative width or height, and a category id that the json's ``categories``
    do not list raise :class:`BadSampleError` naming the json file, the annotation id, the image
    id and file and the problem, or are dropped with a warning each and a count at the end.
    (Annotations of categories the config leaves out through ``metainfo`` are dropped as in
    mmdet: that is a choice, not an error.)

    The checks are one pass over the values already in memory, a small part of reading the json.

    Args:
        on_bad_sample (str): 'error' raises; 'skip' drops the annotation (the image keeps its other
            annotations) or, for an image that cannot be loaded, the sample, and logs a warning
            naming it. Evaluation reads the json itself (``CocoMetric``): fix the file for
            validation and test sets. Defaults to 'error'.
        *args, **kwargs: ``CocoDataset``'s arguments.
    """

    def load_data_list(self):
        self._dropped_annotations = 0
        data_list = super().load_data_list()
        if self._dropped_annotations:
            print_log(f'{type(self).__name__}: dropped {self._dropped_annotations} bad '
                      f'annotations of {self.ann_file} (the warnings above name each)',
                      logger='current', level=logging.WARNING)
        return data_list

    def annotation_problem(self, ann):
        """What is wrong with one annotation dict of the json, or None."""
        problem = bbox_problem(ann.get('bbox'))
        if problem is None and ann.get('category_id') not in self.coco.cats:
            problem = (f'category id {ann.get("category_id")!r} is not among the json\'s '
                       f'categories (ids {sorted(self.coco.cats)})')
        if problem is None and 'segmentation' in ann:
            problem = segmentation_problem(ann['segmentation'])
        return problem

    def parse_data_info(self, raw_data_info):
        image = raw_data_info['raw_img_info']
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            problem = None if ann.get('ignore', False) else self.annotation_problem(ann)
            if problem is None:
                kept.append(ann)
                continue
            bad_sample(self.on_bad_sample,
                       f'{self.ann_file}: annotation id {ann.get("id")} (image id {image["id"]}, '
                       f'{image.get("file_name")}): {problem}')
            self._dropped_annotations += 1
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=kept))
