"""The embedded mini datasets' generators (tools/data/), importable from any test."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'data'))
from make_mini_ade20k import make_mini_ade20k  # noqa: E402
from make_mini_coco import make_mini_coco  # noqa: E402

__all__ = ['make_mini_ade20k', 'make_mini_coco']
