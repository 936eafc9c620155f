"""On a GPU the backbone runs the fused Triton scan and matches the PyTorch path."""
import copy

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


@pytest.mark.cuda
def test_vim_s_inference_triton_matches_torch_path():
    """Without autograd (A made channel-fastest by the mixer) the fused Triton scan matches the
    PyTorch path."""
    torch.manual_seed(0)
    fast = VisionMamba('small', img_size=512).cuda().eval()
    reference = VisionMamba('small', img_size=512, scan_backend='torch').cuda().eval()
    reference.load_state_dict(fast.state_dict())
    images = torch.randn(2, 3, 512, 512, device='cuda')
    with torch.no_grad():
        for a, b in zip(fast(images), reference(images)):
            assert rel_err(a, b) < 1e-4


@pytest.mark.cuda
def test_cuda_graph_inference_matches_eager():
    model = VisionMamba('tiny', img_size=224, cls_token=None, cuda_graph=True).cuda().eval()
    with torch.no_grad(), torch.autocast('cuda', torch.bfloat16):
        for size in (224, 320, 224):                    # new shape, then a cached one again
            images = torch.randn(2, 3, size, size, device='cuda')
            replayed = model(images)
            eager = model.forward_eager(images)
            for a, b in zip(replayed, eager):
                assert a.shape == b.shape and rel_err(a, b) < 1e-4
        assert len(model._graph_runner.graphs) == 2
    images = torch.randn(1, 3, 224, 224, device='cuda')
    with torch.inference_mode():                        # a separate graph, not the no_grad one
        under_inference = model(images)
    with torch.no_grad():
        torch.testing.assert_close(model(images), under_inference)
    assert len(model._graph_runner.graphs) == 4
    model.load_state_dict(model.state_dict())           # loaded tensors: graphs dropped
    assert model._graph_runner is None
    with torch.no_grad():
        model(images)
    model.float()                                       # moved tensors: graphs dropped
    assert model._graph_runner is None


@pytest.mark.cuda
@pytest.mark.parametrize('dtype,tol', [(torch.float32, 1e-4), (torch.bfloat16, 2e-2)])
def test_cuda_graph_training_matches_eager(dtype, tol):
    """Three SGD steps with graphed forward + backward track the same steps run eagerly: the
    replays see the updated weights and hand back the same gradients."""
    torch.manual_seed(0)
    eager = VisionMamba('tiny', img_size=224, cls_token=None, drop_path_rate=0.0,
                        out_indices=(11, 23)).cuda().train()
    graphed = copy.deepcopy(eager)
    graphed.cuda_graph_train = True
    optims = [torch.optim.SGD(m.parameters(), lr=0.05) for m in (eager, graphed)]
    for size in (224, 224, 160, 224):                   # a cached shape, a new one, back
        images = torch.randn(2, 3, size, size, device='cuda')
        losses, grads = [], []
        for model, optim in zip((eager, graphed), optims):
            optim.zero_grad()
            with torch.autocast('cuda', dtype, enabled=dtype != torch.float32):
                loss = sum(o.float().square().mean() for o in model(images))
            loss.backward()
            losses.append(loss.item())
            grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
            optim.step()
        assert abs(losses[0] - losses[1]) <= tol * abs(losses[0])
        assert rel_err(grads[1], grads[0]) < tol
    assert len(graphed._train_graphs.graphs) == 2
    graphed.float()                                     # moved tensors: graphs dropped
    assert graphed._train_graphs is None


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_mixer_lean_inference_matches_fused_cuda(monkeypatch, dtype):
    """The memory-lean inference path (taken from ``LEAN_MIN_LENGTH`` tokens: in_proj's halves
    as two products, the scan written over delta_f) against the fused one on the GPU, at the
    length of Vim-Ti at 1024 x 1024 plus one."""
    from mmvim.models.layers import BiMambaMixer, bimamba
    torch.manual_seed(0)
    mixer = BiMambaMixer(192).cuda().eval()
    with torch.no_grad():                 # move D and the biases off their init values
        for p in mixer.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    hidden = torch.randn(2, 4097, 192, device='cuda')
    calls, lean = [], BiMambaMixer.forward_lean
    monkeypatch.setattr(BiMambaMixer, 'forward_lean',
                        lambda self, h: calls.append(1) or lean(self, h))
    outs = []
    for threshold in (4097, 4098):                  # lean, then fused
        monkeypatch.setattr(bimamba, 'LEAN_MIN_LENGTH', threshold)
        with torch.no_grad(), torch.autocast('cuda', dtype, enabled=dtype != torch.float32):
            outs.append(mixer(hidden).float())
    assert len(calls) == 1
    assert rel_err(outs[0], outs[1]) < (1e-5 if dtype == torch.float32 else 1e-2)
