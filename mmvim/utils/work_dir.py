"""One training run per work dir.

mmengine writes ``iter_N.pth`` into the work dir whatever is there: a second run into the same
folder overwrites the first one's checkpoints, and a later ``--resume`` may pick the other run's
newer file. :func:`claim_work_dir` refuses a new run where checkpoints already are (``--resume``
continues them) and, with a lock file, a run where another one is writing now.
"""
import atexit
import contextlib
import os
import socket

from .resume import checkpoint_dir, numbered_checkpoints

LOCK_NAME = '.mmvim-train.lock'


def _running_here(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # alive, another user's
        return True
    return True


def _lock_holder(lock):
    """(pid, host) written in ``lock``, or None if it is unreadable."""
    try:
        with open(lock) as f:
            pid, host = f.read().split(maxsplit=1)
        return int(pid), host.strip()
    except (OSError, ValueError):
        return None


def claim_work_dir(cfg, resume):
    """Check that the training run of ``cfg`` may write into its work dir, and hold it.

    Call it once per run, in the process of rank 0 (the only one that writes checkpoints).

    Raises:
        SystemExit: another run's lock is in the work dir and that process is alive (or on
            another host, where this cannot tell); or, without ``resume``, the checkpoint folder
            already holds checkpoints, which this run would overwrite.
    """
    work_dir = cfg.work_dir
    lock = os.path.join(work_dir, LOCK_NAME)
    holder = _lock_holder(lock)
    if holder is not None and holder[0] != os.getpid():
        pid, host = holder
        if host != socket.gethostname() or _running_here(pid):
            raise SystemExit(
                f'another training run (process {pid} on {host}) is writing into {work_dir}: '
                f'two runs would overwrite each other\'s checkpoints. Give this one another '
                f'--work-dir, or, if that run is no longer alive, delete {lock}.')
    existing = numbered_checkpoints(checkpoint_dir(cfg))
    if existing and not resume:
        shown = ', '.join(os.path.basename(p) for p in existing[:3])
        raise SystemExit(
            f'{checkpoint_dir(cfg)} already holds the checkpoints of a training run ({shown}'
            f'{", ..." if len(existing) > 3 else ""}): a new run would overwrite them. '
            f'Continue that run with --resume, or give this one another --work-dir.')
    os.makedirs(work_dir, exist_ok=True)
    with open(lock, 'w') as f:
        f.write(f'{os.getpid()} {socket.gethostname()}\n')
    atexit.register(_release, lock)


def _release(lock):
    if (_lock_holder(lock) or (None, ))[0] == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
