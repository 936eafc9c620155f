"""Data transforms (imported by ``mmvim.registration`` where mmcv / mmseg are installed)."""
