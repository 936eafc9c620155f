"""COCO instances whose broken annotations are refused by name instead of ignored or crashed on.

mmdet's ``CocoDataset`` turns a polygon of fewer than 3 points or an odd number of coordinates
into a silently ignored instance, fails on a flat coordinate list with ``object of type 'float'
has no len()``, and passes non-finite coordinates to pycocotools, whose rasteriser then crashes the
process (a segmentation fault, or killed for memory). None of these names the annotation.
"""
import math

from mmdet.datasets import CocoDataset

from .bad_sample import bad_sample, check_policy


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


class CheckedCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` that checks every annotation's ``segmentation`` while reading the
    json: a polygon with fewer than 3 points, an odd number of coordinates, or non-numeric or
    non-finite values, a flat coordinate list, a malformed RLE raise :class:`BadSampleError`
    naming the json file, the annotation id, the image id and file and the problem, or are
    dropped with a warning.

    The check is one pass over the coordinates already in memory (``sum`` per polygon), a small
    part of reading the json.

    Args:
        on_bad_sample (str): 'error' raises; 'skip' drops the annotation (the image keeps its other
            annotations) and logs a warning naming it. Evaluation reads the json itself
            (``CocoMetric``): fix the file for validation and test sets. Defaults to 'error'.
        *args, **kwargs: ``CocoDataset``'s arguments.
    """

    def __init__(self, *args, on_bad_sample='error', **kwargs):
        self.on_bad_sample = check_policy(on_bad_sample, type(self).__name__)
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info):
        image = raw_data_info['raw_img_info']
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            problem = segmentation_problem(ann['segmentation']) if 'segmentation' in ann else None
            if problem is None:
                kept.append(ann)
                continue
            bad_sample(self.on_bad_sample,
                       f'{self.ann_file}: annotation id {ann.get("id")} (image id {image["id"]}, '
                       f'{image.get("file_name")}): {problem}')
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=kept))
