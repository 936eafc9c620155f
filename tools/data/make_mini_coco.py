"""Make the embedded mini instance-segmentation dataset, in COCO's layout and format.

    python tools/data/make_mini_coco.py data/mini_coco [--train 160 --val 32 --size 256]

Writes ``train2017/*.jpg``, ``val2017/*.jpg`` and ``annotations/instances_{train,val}2017.json``
(polygon masks, xywh boxes, areas). Deterministic: the same arguments give the same bytes. Each
image has a smooth, randomly coloured background and 1-4 non-overlapping objects, each a disc, a
square or a triangle (the three categories) of random size and rotation, filled with stripes, a
checkerboard or a flat colour in a random colour and its complement: the shape decides the class.
"""
import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CATEGORIES = ('disc', 'square', 'triangle')
CORNERS = {'disc': 32, 'square': 4, 'triangle': 3}


def _background(rng, size):
    coarse = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC), np.float32)
    return image / 255 * rng.uniform(0.3, 1.0, 3)


def _fill(rng, size):
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    period, angle = rng.uniform(6, 12), rng.uniform(0, np.pi)
    kind = rng.randint(3)
    if kind == 0:
        on = np.floor((xx * np.cos(angle) + yy * np.sin(angle)) / period) % 2 == 1
    elif kind == 1:
        on = (np.floor(xx / period) + np.floor(yy / period)) % 2 == 1
    else:
        on = np.zeros((size, size), bool)
    colour = rng.random(3)
    return np.where(on[..., None], colour, 1 - colour)


def _polygon(rng, category, centre, radius):
    """Vertices (k, 2) as (x, y) of a regular polygon with a random rotation."""
    corners = CORNERS[category]
    angles = rng.uniform(0, 2 * np.pi) + np.arange(corners) * 2 * np.pi / corners
    return np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)


def make_sample(seed, size):
    """(image uint8 (size, size, 3), list of (category index, polygon (k, 2) as x, y))."""
    rng = np.random.RandomState(seed)
    image = _background(rng, size)
    objects, placed = [], []
    for _ in range(rng.randint(1, 5)):
        radius = rng.uniform(0.08, 0.22) * size
        centre = rng.uniform(radius, size - radius, 2)
        if any(np.hypot(*(centre - c)) < radius + r + 2 for c, r in placed):
            continue                                         # keep objects apart: exact masks
        category = rng.randint(len(CATEGORIES))
        polygon = _polygon(rng, CATEGORIES[category], centre, radius)
        mask = Image.new('L', (size, size))
        ImageDraw.Draw(mask).polygon([tuple(p) for p in polygon], fill=1)
        mask = np.asarray(mask, bool)
        image[mask] = _fill(rng, size)[mask]
        placed.append((centre, radius))
        objects.append((category, polygon))
    image = np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1)
    return (image * 255).astype(np.uint8), objects


def _annotation(ann_id, image_id, category, polygon):
    x, y = polygon[:, 0], polygon[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))     # shoelace
    return dict(id=ann_id, image_id=image_id, category_id=category + 1, iscrowd=0,
                segmentation=[np.round(polygon, 2).ravel().tolist()], area=round(float(area), 2),
                bbox=[round(float(v), 2) for v in (x.min(), y.min(), np.ptp(x), np.ptp(y))])


def make_mini_coco(root, num_train=160, num_val=32, size=256, seed=0):
    """Write the dataset under ``root``; returns the number of images per split."""
    root = Path(root)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CATEGORIES)]
    for split, count, offset in (('train2017', num_train, 0), ('val2017', num_val, 10**6)):
        (root / split).mkdir(exist_ok=True)
        images, annotations = [], []
        for index in range(count):
            image, objects = make_sample(seed * 10**7 + offset + index, size)
            name = f'{index:012d}.jpg'
            Image.fromarray(image).save(root / split / name, quality=95)
            images.append(dict(id=index + 1, file_name=name, width=size, height=size))
            for category, polygon in objects:
                annotations.append(_annotation(len(annotations) + 1, index + 1, category,
                                               polygon))
        (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(
            dict(images=images, annotations=annotations, categories=categories)))
    return dict(train2017=num_train, val2017=num_val)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', nargs='?', default='data/mini_coco')
    parser.add_argument('--train', type=int, default=160)
    parser.add_argument('--val', type=int, default=32)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = make_mini_coco(args.root, args.train, args.val, args.size, args.seed)
    print(f'wrote {counts} images of {args.size}x{args.size} to {args.root}')


if __name__ == '__main__':
    main()
