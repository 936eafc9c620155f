"""On a GPU the backbone runs the fused Triton scan and matches the PyTorch path."""
import pytest
import torch

from mmvim.models import VisionMamba
from tests.scan_inputs import rel_err


@pytest.mark.cuda
def test_vim_s_forward_backward_triton_matches_torch_path():
    torch.manual_seed(0)
    fast = VisionMamba('small', img_size=512, drop_path_rate=0.0).cuda().train()
    reference = VisionMamba('small', img_size=512, drop_path_rate=0.0,
                            scan_backend='torch').cuda().train()
    reference.load_state_dict(fast.state_dict())
    images = torch.randn(8, 3, 512, 512, device='cuda')
    results = []
    for model in (fast, reference):
        outs = model(images)
        sum(o.square().mean() for o in outs).backward()
        results.append(([o.detach() for o in outs],
                        {n: p.grad for n, p in model.named_parameters()}))
    (outs_fast, grads_fast), (outs_ref, grads_ref) = results
    for a, b in zip(outs_fast, outs_ref):
        assert rel_err(a, b) < 1e-4
    worst = max((rel_err(grads_fast[n], grads_ref[n]), n) for n in grads_ref)
    assert worst[0] < 1e-3, worst
