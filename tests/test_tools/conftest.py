"""Fixtures of the tool tests."""
import pytest

from tests.mini_data import make_mini_ade20k, make_mini_coco


@pytest.fixture(scope='module')
def mini_data(tmp_path_factory):
    """The embedded ADE20K-layout dataset (8 training, 3 validation images), once per module."""
    root = tmp_path_factory.mktemp('mini_ade20k')
    make_mini_ade20k(root, num_train=8, num_val=3)
    return root


@pytest.fixture(scope='module')
def mini_coco(tmp_path_factory):
    """The embedded COCO-layout dataset (6 training, 2 validation images), once per module."""
    root = tmp_path_factory.mktemp('mini_coco')
    make_mini_coco(root, num_train=6, num_val=2)
    return root
