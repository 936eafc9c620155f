"""The layout helpers the Triton ops share: int32 spans of a batch entry, dense tensors."""
import pytest
import torch

from mmvim.ops import bidirectional_conv1d_silu
from mmvim.ops.layout import INT32_SPAN, entry_span, is_dense


def test_entry_span_counts_one_batch_entry():
    channel_last = torch.empty(3, 7, 5).transpose(1, 2)          # (batch, 5 channels, 7 long)
    assert entry_span(channel_last) == (5 - 1) * 1 + (7 - 1) * 5
    assert entry_span(torch.empty(3, 5, 7)) == 5 * 7 - 1


def test_is_dense():
    x = torch.empty(2, 3, 4)
    assert is_dense(x) and is_dense(x.transpose(1, 2)) and is_dense(x[:1])
    assert not is_dense(x[:, :1].expand(2, 3, 4))                  # elements repeat
    assert not is_dense(x[:, :, :2])                               # gaps
    assert is_dense(torch.empty(1, 1, 4)[:, :, :1])                # size-1 axes do not count


def test_conv_refuses_inputs_beyond_int32_offsets():
    x = torch.empty(1, 2**16, 2**15 + 1, device='meta')            # nothing is allocated
    assert entry_span(x) >= INT32_SPAN
    w = torch.empty(2**16, 1, 4, device='meta')
    with pytest.raises(ValueError, match=r'one batch entry of x \(1, 65536, 32769\)'):
        bidirectional_conv1d_silu(x, w, None, w, None, backend='triton')
