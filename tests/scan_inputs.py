"""Random selective-scan inputs and error measures shared by the op tests."""
import torch


def rel_err(out, ref):
    """||out - ref|| / ||ref|| in float64."""
    out, ref = out.double(), ref.double()
    return ((out - ref).norm() / ref.norm().clamp_min(1e-300)).item()


def scan_inputs(batch, dim, length, dstate=16, dtype=torch.float32, device='cpu',
                requires_grad=True, generator=None):
    """Inputs of one direction, scaled like a trained Vim layer: dict of u, delta, A, B, C, D, z,
    delta_bias. A, D, delta_bias are float32 (float64 when dtype is float64)."""
    param_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    g = generator

    def randn(*shape, dt=dtype, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device=device, dtype=dt)

    tensors = dict(
        u=randn(batch, dim, length),
        delta=randn(batch, dim, length, scale=0.5),
        A=-torch.exp(torch.randn(dim, dstate, generator=g)).to(device=device, dtype=param_dtype),
        B=randn(batch, dstate, length),
        C=randn(batch, dstate, length),
        D=randn(dim, dt=param_dtype),
        z=randn(batch, dim, length),
        delta_bias=(torch.rand(dim, generator=g) - 4).to(device=device, dtype=param_dtype),
    )
    for t in tensors.values():
        t.requires_grad_(requires_grad)
    return tensors
