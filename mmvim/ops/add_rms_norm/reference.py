"""The specification of Vim's "Add -> Norm": residual add, then RMSNorm of the new stream."""
import torch


def add_rms_norm_ref(hidden, residual, weight, eps, residual_dtype=torch.float32, out_dtype=None):
    """``r = residual + hidden`` (``hidden`` alone when ``residual`` is None), kept in
    ``residual_dtype`` (None: the promoted dtype of the add), and ``rms_norm(r) * weight``.

    Args:
        hidden: (..., D). residual: (..., D) or None. weight: (D,).
        eps: added to the mean square.
        residual_dtype: dtype of the returned stream (Vim's residual_in_fp32: float32).
        out_dtype: dtype of the normed output; None: the stream's dtype.

    Returns:
        (normed (..., D) in ``out_dtype``, r (..., D) in ``residual_dtype``); the norm is computed
        in float32 (float64 for float64 inputs) from r as stored.
    """
    r = hidden if residual is None else residual + hidden
    if residual_dtype is not None:
        r = r.to(residual_dtype)
    x = r.double() if r.dtype == torch.float64 else r.float()
    normed = x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps) * weight
    return normed.to(out_dtype or r.dtype), r
