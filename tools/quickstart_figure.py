"""The picture of the main job (tools/quickstart.py): a few validation images with their ground
truth, the untrained model's prediction and the trained model's, side by side, and the training
loss against the iteration.

Segmentation: label maps in the dataset's palette (ignored pixels black). Detection: boxes and
masks in a colour per class over the image, predictions above ``SCORE`` only.
"""
import matplotlib

matplotlib.use('Agg')  # noqa: E402  (files only, no display)
import matplotlib.pyplot as plt  # noqa: E402
import mmcv  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402

SCORE = 0.3           # detections drawn
MASK_ALPHA = 0.45     # opacity of instance masks over the image


def predict(runner, indices):
    """The model's predictions (data samples, ground truth included) for the test set's samples
    ``indices``, in eval mode."""
    dataset = runner.test_dataloader.dataset
    model = runner.model
    was_training = model.training
    model.eval()
    with torch.no_grad():
        samples = model.test_step(pseudo_collate([dataset[i] for i in indices]))
    model.train(was_training)
    return samples


def _palette(dataset, count):
    palette = dataset.metainfo.get('palette')
    if palette is None or len(palette) < count:
        rng = np.random.default_rng(0)
        palette = rng.integers(40, 256, (count, 3)).tolist()
    return np.asarray(palette[:count], dtype=np.float32) / 255


def _paint_labels(labels, palette):
    """A label map (H, W) as colours (H, W, 3); labels outside the palette (ignored) black."""
    known = labels < len(palette)
    colours = np.zeros((*labels.shape, 3), np.float32)
    colours[known] = palette[labels[known]]
    return colours


def _draw_instances(ax, image, boxes, labels, masks, palette):
    """``image`` with instance ``masks`` (N, H, W) blended in, and ``boxes`` (N, 4) drawn."""
    painted = image.copy()
    for mask, label in zip(masks, labels):
        painted[mask] = (1 - MASK_ALPHA) * painted[mask] + MASK_ALPHA * palette[label]
    ax.imshow(painted)
    for (x1, y1, x2, y2), label in zip(boxes, labels):
        ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, linewidth=1.2,
                                   edgecolor=palette[label]))


def _instances(sample, prediction, height, width):
    """(boxes, labels, masks) as numpy arrays of a sample's ground truth or its predictions
    above ``SCORE``."""
    if prediction:
        found = sample.pred_instances
        found = found[found.scores > SCORE]
        masks = found.masks.cpu().numpy().astype(bool) if 'masks' in found else None
    else:
        found = sample.gt_instances
        masks = found.masks.to_ndarray().astype(bool) if 'masks' in found else None
    boxes = found.bboxes.cpu().numpy() if hasattr(found.bboxes, 'cpu') else np.asarray(
        found.bboxes.tensor)
    if masks is None:
        masks = np.zeros((len(boxes), height, width), bool)
    return boxes, found.labels.cpu().numpy(), masks


def _panel(ax, image, sample, kind, palette, is_seg):
    """Draw one panel: 'ground truth', 'untrained' or 'trained' for ``sample``."""
    ax.set_xticks([])
    ax.set_yticks([])
    if is_seg:
        data = sample.gt_sem_seg if kind == 'ground truth' else sample.pred_sem_seg
        ax.imshow(_paint_labels(data.data[0].cpu().numpy(), palette))
        return
    boxes, labels, masks = _instances(sample, kind != 'ground truth', *image.shape[:2])
    _draw_instances(ax, image, boxes, labels, masks, palette)


def draw(path, runner, untrained, trained, losses, title):
    """Write the PNG at ``path``.

    Args:
        runner: the quickstart's runner (its test dataset gives the images and metainfo).
        untrained, trained: :func:`predict` outputs for the same samples, before and after
            training.
        losses (Sequence[float]): the training loss of every iteration.
        title (str): the figure's title (the config, the metrics).
    """
    dataset = runner.test_dataloader.dataset
    classes = dataset.metainfo['classes']
    palette = _palette(dataset, len(classes))
    is_seg = 'pred_sem_seg' in trained[0]
    rows, columns = len(trained), ('image', 'ground truth', 'untrained', 'trained')
    figure = plt.figure(figsize=(11, 2.6 * rows + 2.8), layout='constrained')
    grid = figure.add_gridspec(rows + 1, len(columns), height_ratios=[1] * rows + [0.9])
    for row, (before, after) in enumerate(zip(untrained, trained)):
        image = mmcv.imread(after.img_path, channel_order='rgb').astype(np.float32) / 255
        for column, kind in enumerate(columns):
            ax = figure.add_subplot(grid[row, column])
            if kind == 'image':
                ax.imshow(image)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                _panel(ax, image, before if kind == 'untrained' else after, kind, palette,
                       is_seg)
            if row == 0:
                ax.set_title(kind)
    loss_ax = figure.add_subplot(grid[rows, :])
    loss_ax.plot(np.arange(1, len(losses) + 1), losses, linewidth=0.8)
    loss_ax.set_xlabel('iteration')
    loss_ax.set_ylabel('training loss')
    loss_ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    loss_ax.grid(alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[k]) for k in range(len(classes))]
    names = list(classes)
    if is_seg:
        handles.append(plt.Rectangle((0, 0), 1, 1, color='black'))
        names.append('ignored')
    figure.legend(handles, names, loc='outside lower center', ncol=min(len(names), 6),
                  fontsize='small')
    figure.suptitle(title, fontsize='medium')
    figure.savefig(path, dpi=90)
    plt.close(figure)
