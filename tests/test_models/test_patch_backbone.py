"""What VisionMamba and ViTDet share (PatchBackbone): the input check names the shape or dtype
of a bad batch before any block runs (a matrix product's dtype error, or a reshape after every
block, before); images of another floating-point dtype work under autocast and in a model cast
to their dtype."""
import pytest
import torch

from mmvim.models import ViTDet, VisionMamba

BACKBONES = {
    'VisionMamba': lambda: VisionMamba(arch=None, embed_dim=32, depth=2, out_indices=(1, ),
                                       img_size=32),
    'ViTDet': lambda: ViTDet(embed_dim=32, depth=2, num_heads=2, img_size=32,
                             global_attn_indexes=(1, ), out_indices=(1, )),
}


@pytest.fixture(params=sorted(BACKBONES))
def backbone(request):
    return BACKBONES[request.param]().eval()


@pytest.mark.parametrize('images, message', [
    (torch.randn(1, 3, 32, 32, dtype=torch.float64), 'the images are torch.float64, the weights '
                                                     r'torch.float32; cast one to the other'),
    (torch.randn(1, 3, 32, 32).half(), 'the images are torch.float16, the weights torch.float32'),
    (torch.randint(0, 255, (1, 3, 32, 32), dtype=torch.uint8),
     'expected floating-point images, got torch.uint8; convert and normalise them first'),
    (torch.randn(0, 3, 32, 32), r'the batch is empty \(input \(0, 3, 32, 32\)\)'),
    (torch.randn(1, 1, 32, 32), r'expected images \(B, 3, H, W\), got \(1, 1, 32, 32\)'),
    (torch.randn(3, 32, 32), r'expected images \(B, 3, H, W\), got \(3, 32, 32\)'),
])
def test_bad_images_are_named(backbone, images, message):
    with pytest.raises(ValueError, match=f'{type(backbone).__name__}: {message}'):
        backbone(images)


def test_other_dtypes_under_autocast_and_in_a_cast_model(backbone):
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert backbone(torch.randn(1, 3, 32, 32).half())[0].shape == (1, 32, 2, 2)
    assert backbone.double()(torch.randn(1, 3, 32, 32, dtype=torch.float64))[0].dtype == \
        torch.float64
