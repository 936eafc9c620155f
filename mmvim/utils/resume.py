"""Which checkpoint ``--resume`` continues from: the newest one that loads.

mmengine resumes from the file that ``<work_dir>/last_checkpoint`` names and fails when that file
is damaged (a write cut short before mmvim's atomic writes, a disk error, a copy that stopped
half-way) or when ``last_checkpoint`` itself is. :func:`find_resumable_checkpoint` tries the
training checkpoints newest (highest step) first and returns the first that loads, logging each
one it skips and why.
"""
import logging
import os
import re

from mmengine.logging import print_log

from .checkpoint import load_checkpoint_file

# the CheckpointHook's file names: iter_{step}.pth (by_epoch=False) or epoch_{step}.pth
CHECKPOINT_NAME = re.compile(r'(?:iter|epoch)_(\d+)\.pth')


def _candidates(work_dir):
    """Checkpoint paths, newest first: the numbered files in the directory that
    ``last_checkpoint`` points to (the CheckpointHook's ``out_dir``; else ``work_dir``), and the
    file it names, if that has another name."""
    named = None
    marker = os.path.join(work_dir, 'last_checkpoint')
    if os.path.isfile(marker):
        with open(marker) as f:
            named = f.read().strip() or None
    directory = os.path.dirname(named) if named else ''
    directory = directory if os.path.isdir(directory) else work_dir
    numbered = []
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            match = CHECKPOINT_NAME.fullmatch(name)
            if match:
                numbered.append((int(match.group(1)), os.path.join(directory, name)))
    paths = [path for _, path in sorted(numbered, reverse=True)]
    if named and os.path.abspath(named) not in map(os.path.abspath, paths):
        paths.insert(0, named)
    return paths


def find_resumable_checkpoint(work_dir):
    """Path of the newest checkpoint under ``work_dir`` that loads, or None when there is none.

    Every skipped file is logged with the reason (truncated, corrupt, refused as unsafe, no
    training state).

    Raises:
        SystemExit: there are checkpoints, but none of them loads; nothing is started, so that
            a fresh run does not rotate them away.
    """
    skipped = []
    for path in _candidates(work_dir):
        try:
            checkpoint = load_checkpoint_file(path)
        except (OSError, RuntimeError) as err:
            reason = str(err)
        else:
            if isinstance(checkpoint, dict) and 'meta' in checkpoint:
                print_log(f'resuming from {path}'
                          + (f' (skipped {len(skipped)} newer: {skipped})' if skipped else ''),
                          logger='current')
                return path
            reason = 'it holds no training state (no meta)'
        print_log(f'not resuming from {path}: {reason}', logger='current', level=logging.WARNING)
        skipped.append(path)
    if skipped:
        raise SystemExit(
            f'--resume: none of the checkpoints in {work_dir} loads ({", ".join(skipped)}; the '
            f'warnings above say why). Move them away to start from scratch; see '
            f'docs/failure_modes.md.')
    return None
