"""The token grid of a patch convolution, for the backbones that refuse to pad silently."""


def patch_grid(height, width, patch_size, stride, owner):
    """The (rows, cols) grid of a patch conv (kernel ``patch_size``, ``stride``) over an input of
    ``height`` x ``width``.

    Raises:
        ValueError: naming ``owner``, the input size and the patch, if the input is smaller than
            one patch or its sides are not ``patch_size`` + a multiple of ``stride`` (the conv
            would drop the remainder without a word).
    """
    if min(height, width) < patch_size:
        raise ValueError(f'{owner}: input of size {height}x{width} is smaller than one patch '
                         f'({patch_size}x{patch_size}); resize or pad it to at least '
                         f'{patch_size}x{patch_size}')
    if (height - patch_size) % stride or (width - patch_size) % stride:
        raise ValueError(f'{owner}: input of size {height}x{width} does not fit patch {patch_size} '
                         f'with stride {stride}: each side must be {patch_size} + a multiple of '
                         f'{stride}. Pad the input (size_divisor={stride} in mmseg\'s data '
                         f'preprocessor, pad_size_divisor in mmdet\'s).')
    return (height - patch_size) // stride + 1, (width - patch_size) // stride + 1
