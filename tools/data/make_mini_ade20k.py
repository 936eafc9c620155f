"""Make the embedded mini segmentation dataset, in exactly ADE20K's layout.

    python tools/data/make_mini_ade20k.py data/mini_ade20k [--train 240 --val 48 --size 128]

Writes ``images/{training,validation}/*.jpg`` and ``annotations/{training,validation}/*.png``.
Deterministic: the same arguments give the same bytes. Each image has a smooth, randomly coloured
"ground" (label 1); 1-3 objects, each a disc or a square filled with stripes or a checkerboard in
a random colour and its complement (labels 2-5: striped disc, checkered square, checkered disc,
striped square); and clutter triangles labelled 0, ignored through reduce_zero_label like
ADE20K's "other".
Colour carries no class information; texture and shape both do, and only together.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SHAPES = ('disc', 'square')
TEXTURES = ('stripes', 'checker')
# label of (shape, texture); 1 is the ground, 0 is ignored
LABELS = {('disc', 'stripes'): 2, ('square', 'checker'): 3, ('disc', 'checker'): 4,
          ('square', 'stripes'): 5}


def _smooth_noise(rng, size, cells=4):
    coarse = rng.random((cells, cells, 3))
    return np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (size, size), Image.BICUBIC), dtype=np.float32) / 255


def _texture(rng, size, kind):
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    period = rng.uniform(6, 10)
    if kind == 'stripes':
        angle = rng.uniform(0, np.pi)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
        return (np.floor(phase) % 2).astype(bool)
    return ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(bool)


def _shape_mask(rng, size, kind):
    yy, xx = np.mgrid[:size, :size]
    radius = rng.uniform(0.16, 0.3) * size
    cy, cx = rng.uniform(radius, size - radius, 2)
    if kind == 'disc':
        return (yy - cy)**2 + (xx - cx)**2 <= radius**2
    return (np.abs(yy - cy) <= radius * 0.9) & (np.abs(xx - cx) <= radius * 0.9)


def _triangle_mask(rng, size):
    points = rng.uniform(0, size, (3, 2))
    yy, xx = np.mgrid[:size, :size]
    signs = []
    for (y0, x0), (y1, x1) in zip(points, np.roll(points, -1, axis=0)):
        signs.append((xx - x0) * (y1 - y0) - (yy - y0) * (x1 - x0) >= 0)
    return (signs[0] == signs[1]) & (signs[1] == signs[2])


def make_sample(seed, size):
    """One (image uint8 (size, size, 3), label uint8 (size, size)) pair."""
    rng = np.random.RandomState(seed)
    image = _smooth_noise(rng, size) * rng.uniform(0.3, 1.0, 3)
    label = np.ones((size, size), np.uint8)
    for _ in range(rng.randint(0, 3)):
        mask = _triangle_mask(rng, size)
        image[mask] = _smooth_noise(rng, size)[mask]
        label[mask] = 0
    for _ in range(rng.randint(1, 4)):
        shape, texture = SHAPES[rng.randint(2)], TEXTURES[rng.randint(2)]
        mask = _shape_mask(rng, size, shape)
        colour = rng.random(3)              # and its complement: the texture always shows
        pattern = np.where(_texture(rng, size, texture)[..., None], colour, 1 - colour)
        image[mask] = pattern[mask]
        label[mask] = LABELS[(shape, texture)]
    image = np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1)
    return (image * 255).astype(np.uint8), label


def make_mini_ade20k(root, num_train=240, num_val=48, size=128, seed=0):
    """Write the dataset under ``root``; returns the number of images written per split."""
    root = Path(root)
    for split, count, offset in (('training', num_train, 0), ('validation', num_val, 10**6)):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        (root / 'annotations' / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image, label = make_sample(seed * 10**7 + offset + index, size)
            name = f'mini_{split}_{index:05d}'
            Image.fromarray(image).save(root / 'images' / split / f'{name}.jpg', quality=95)
            Image.fromarray(label).save(root / 'annotations' / split / f'{name}.png')
    return dict(training=num_train, validation=num_val)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', nargs='?', default='data/mini_ade20k')
    parser.add_argument('--train', type=int, default=240)
    parser.add_argument('--val', type=int, default=48)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = make_mini_ade20k(args.root, args.train, args.val, args.size, args.seed)
    print(f'wrote {counts} images of {args.size}x{args.size} to {args.root}')


if __name__ == '__main__':
    main()
