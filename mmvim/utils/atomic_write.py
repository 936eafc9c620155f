"""Files written whole or not at all, for checkpoints above all.

mmengine's runner saves a checkpoint by serialising it into memory and handing the bytes to the
file backend's ``put`` (``mmengine.runner.checkpoint.save_checkpoint``), and the local backend
writes them straight into the final path: a crash, a kill or a full disk in the middle leaves a
truncated file under the checkpoint's name, which ``last_checkpoint`` points to.

:func:`write_atomically` writes into a temporary file in the same directory, fsyncs it, renames it
over the final path (``os.replace`` is atomic) and fsyncs the directory, so the final path holds the
previous file or the complete new one, never a part. An interrupted write leaves at most a
``.<name>.<pid>.tmp`` file beside it, which nothing reads (delete it at leisure).

:func:`use_atomic_local_backend` (called at ``import mmvim``) puts :class:`AtomicLocalBackend` in
place of mmengine's 'local' storage backend through mmengine's own ``register_backend``. That one
registration reaches every write that goes through the file backend (the CheckpointHook's
checkpoints, ``save_checkpoint``, ``mmengine.dump``) without patching the runner; a hook could not
do it, since hooks see the checkpoint dict, never the write. Files mmengine writes with a bare
``open`` (the small ``last_checkpoint`` text) are not covered: resuming does not trust it
(:func:`mmvim.utils.find_resumable_checkpoint`).
"""
import contextlib
import os

from mmengine.fileio import LocalBackend, register_backend


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` so that no reader ever sees ``path`` partly written.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f'.{name}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` (bytes to a file) is :func:`write_atomically`."""

    def put(self, obj, filepath):
        write_atomically(filepath, obj)


def use_atomic_local_backend():
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
