from mmseg.datasets import BaseSegDataset

from .checked_seg_loading import CheckedSegLoading

# The generator (tools/data/make_mini_ade20k.py) writes label k + 1 for class k, 0 for pixels to
# ignore, as ADE20K does; reduce_zero_label maps 0 to 255 (ignored) and k + 1 to k.
MINI_ADE20K_CLASSES = ('ground', 'striped disc', 'checkered square', 'checkered disc',
                       'striped square')


class MiniADE20KDataset(CheckedSegLoading, BaseSegDataset):
    """The embedded mini dataset in ADE20K's layout (``images/{training,validation}/*.jpg``,
    ``annotations/{training,validation}/*.png``). Its classes pair two textures with two shapes,
    so neither colour, texture nor shape alone tells them apart. Loading is checked
    (:class:`~.checked_seg_loading.CheckedSegLoading`; argument ``on_bad_sample``)."""

    METAINFO = dict(classes=MINI_ADE20K_CLASSES,
                    palette=[[120, 120, 120], [230, 25, 75], [60, 180, 75], [255, 225, 25],
                             [0, 130, 200]])

    def __init__(self, img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=True,
                 **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)
