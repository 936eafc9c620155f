"""Which checkpoint ``--resume`` continues from: the newest one of this work dir that loads.

mmengine resumes from the file that ``<work_dir>/last_checkpoint`` names and fails when that file
is damaged (a write cut short before mmvim's atomic writes, a disk error, a copy that stopped
half-way) or when ``last_checkpoint`` itself is; in a copied work dir it names, by its absolute
path, a checkpoint of the original folder. :func:`find_resumable_checkpoint` tries the training
checkpoints in the run's checkpoint folder newest (highest step) first and returns the first that
loads, logging each one it skips and why; ``last_checkpoint`` is followed only into that folder.
"""
import logging
import os
import re

from mmengine.logging import print_log

from .checkpoint import load_checkpoint_file

# the CheckpointHook's file names: iter_{step}.pth (by_epoch=False) or epoch_{step}.pth
CHECKPOINT_NAME = re.compile(r'(?:iter|epoch)_(\d+)\.pth')


def checkpoint_dir(cfg):
    """Where the run of ``cfg`` writes its checkpoints: the CheckpointHook's ``out_dir`` joined
    with the work dir's name (as mmengine does), or the work dir."""
    out_dir = (cfg.get('default_hooks') or {}).get('checkpoint', {}).get('out_dir')
    if out_dir is None:
        return cfg.work_dir
    return os.path.join(out_dir, os.path.basename(cfg.work_dir.rstrip(os.sep)))


def numbered_checkpoints(directory):
    """The CheckpointHook's checkpoints in ``directory``, newest (highest step) first."""
    if not os.path.isdir(directory):
        return []
    numbered = [(int(match.group(1)), os.path.join(directory, name))
                for name in os.listdir(directory)
                for match in [CHECKPOINT_NAME.fullmatch(name)] if match]
    return [path for _, path in sorted(numbered, reverse=True)]


def _candidates(work_dir, directory):
    """Checkpoint paths, newest first: the numbered files in ``directory``, and the file that
    ``<work_dir>/last_checkpoint`` names if it lies in ``directory`` under another name."""
    paths = numbered_checkpoints(directory)
    marker = os.path.join(work_dir, 'last_checkpoint')
    named = None
    if os.path.isfile(marker):
        with open(marker) as f:
            named = f.read().strip() or None
    if named is None or os.path.abspath(named) in map(os.path.abspath, paths):
        return paths
    if os.path.dirname(os.path.abspath(named)) != os.path.abspath(directory):
        print_log(f'not resuming from {named}, which {marker} names: it is not in this run\'s '
                  f'checkpoint folder {directory} (a copied or moved work dir?)',
                  logger='current', level=logging.WARNING)
        return paths
    return [named] + paths


def find_resumable_checkpoint(work_dir, directory=None):
    """Path of the newest checkpoint in ``directory`` (default: ``work_dir``, where the
    CheckpointHook writes unless given an ``out_dir``; see :func:`checkpoint_dir`) that loads,
    or None when there is none.

    Every skipped file is logged with the reason (not a checkpoint, truncated, corrupt, refused
    as unsafe, non-finite values, no training state).

    Raises:
        SystemExit: there are checkpoints, but none of them loads; nothing is started, so that
            a fresh run does not rotate them away.
    """
    directory = work_dir if directory is None else directory
    skipped = []
    for path in _candidates(work_dir, directory):
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
            f'--resume: none of the checkpoints in {directory} loads ({", ".join(skipped)}; the '
            f'warnings above say why). Move them away to start from scratch; see '
            f'docs/failure_modes.md.')
    return None
