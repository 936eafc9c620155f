"""--resume picks the newest checkpoint that loads, and says which ones it skipped and why."""
import pytest
from mmengine.logging import MMLogger

import mmvim  # noqa: F401  (safe loader, atomic checkpoint writes)
from mmvim.utils import find_resumable_checkpoint, load_checkpoint_file
from tests.test_utils.test_checkpoint import hostile_checkpoint
from tests.tiny_runner import tiny_runner

CHECKPOINT_EVERY_2 = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2))


def trained(work_dir, iters=4):
    """A work dir after a real training run, with checkpoints at every second iteration."""
    tiny_runner(work_dir, train_cfg=dict(by_epoch=False, max_iters=iters),
                default_hooks=CHECKPOINT_EVERY_2).train()
    return work_dir


def log_to(path):
    """Make a logger writing to ``path`` mmengine's current one; returns a reader of the file."""
    MMLogger.get_instance(f'resume_test_{path.parent.name}', log_file=str(path))
    return path.read_text


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def test_truncated_newest_checkpoint_is_skipped_and_named(tmp_path):
    work_dir = trained(tmp_path / 'work')
    truncate(work_dir / 'iter_4.pth')
    log = log_to(tmp_path / 'resume.log')
    chosen = find_resumable_checkpoint(str(work_dir))
    assert chosen == str(work_dir / 'iter_2.pth')
    assert f'not resuming from {work_dir}/iter_4.pth: could not read checkpoint' in log()
    assert f'resuming from {chosen} (skipped 1 newer' in log()
    runner = tiny_runner(work_dir, train_cfg=dict(by_epoch=False, max_iters=4), resume=True,
                         load_from=chosen, default_hooks=CHECKPOINT_EVERY_2)
    runner.train()
    assert runner.iter == 4
    assert load_checkpoint_file(work_dir / 'iter_4.pth')['meta']['iter'] == 4


def test_damaged_last_checkpoint_and_leftover_temp_files_are_ignored(tmp_path):
    work_dir = trained(tmp_path / 'work')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_'))  # cut short
    (work_dir / '.iter_6.pth.1234.tmp').write_bytes(b'half a checkpoint')
    log_to(tmp_path / 'resume.log')
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')


def test_unsafe_newest_checkpoint_is_skipped_without_running_it(tmp_path):
    work_dir = trained(tmp_path / 'work')
    _, marker = hostile_checkpoint(work_dir, name='iter_6.pth')
    log = log_to(tmp_path / 'resume.log')
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')
    assert f'not resuming from {work_dir}/iter_6.pth: refusing to load' in log()
    assert not marker.exists()


def test_nothing_loadable_stops_instead_of_starting_over(tmp_path):
    work_dir = trained(tmp_path / 'work')
    for name in ('iter_2.pth', 'iter_4.pth'):
        truncate(work_dir / name)
    log_to(tmp_path / 'resume.log')
    with pytest.raises(SystemExit, match='none of the checkpoints .* loads .*iter_4.pth'):
        find_resumable_checkpoint(str(work_dir))


def test_empty_work_dir_starts_fresh(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) is None


def test_copied_work_dir_resumes_from_its_own_checkpoints(tmp_path):
    """last_checkpoint holds an absolute path into the original folder; the copy must not follow
    it there."""
    import shutil
    original = trained(tmp_path / 'original')
    copy = tmp_path / 'copy'
    shutil.copytree(original, copy)
    assert str(original) in (copy / 'last_checkpoint').read_text()
    log = log_to(tmp_path / 'resume.log')
    assert find_resumable_checkpoint(str(copy)) == str(copy / 'iter_4.pth')
    assert f'not resuming from {original}/iter_4.pth' in log() and 'copied or moved' in log()


def test_checkpoints_written_to_an_out_dir_are_found(tmp_path):
    from mmengine.config import Config
    from mmvim.utils import checkpoint_dir
    cfg = Config(dict(work_dir=str(tmp_path / 'work'),
                      default_hooks=dict(checkpoint=dict(out_dir=str(tmp_path / 'store')))))
    assert checkpoint_dir(cfg) == str(tmp_path / 'store' / 'work')
    assert checkpoint_dir(Config(dict(work_dir='w/'))) == 'w/'
    tiny_runner(tmp_path / 'work', train_cfg=dict(by_epoch=False, max_iters=2),
                default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                                   interval=2, out_dir=str(tmp_path / 'store'))
                                   )).train()
    log_to(tmp_path / 'resume.log')
    assert find_resumable_checkpoint(str(tmp_path / 'work'), checkpoint_dir(cfg)) == \
        str(tmp_path / 'store' / 'work' / 'iter_2.pth')


def test_files_that_are_no_checkpoint_are_skipped_like_truncated_ones(tmp_path):
    from tests.test_utils.test_checkpoint import damaged_files
    work_dir = trained(tmp_path / 'work')
    log = log_to(tmp_path / 'resume.log')
    for step, (contents, _) in enumerate(damaged_files(tmp_path).values(), start=3):
        (work_dir / f'iter_{2 * step}.pth').write_bytes(contents)
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')
    assert f'not resuming from {work_dir}/iter_6.pth: {work_dir}/iter_6.pth is not a checkpoint' \
        in log()


def test_checkpoint_with_non_finite_weights_is_skipped(tmp_path):
    work_dir = trained(tmp_path / 'work')
    checkpoint = load_checkpoint_file(work_dir / 'iter_4.pth')
    next(iter(checkpoint['state_dict'].values())).fill_(float('nan'))
    import torch
    torch.save(checkpoint, work_dir / 'iter_6.pth')
    log = log_to(tmp_path / 'resume.log')
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')
    assert 'holds NaN or infinite values in state_dict.linear.weight' in log()
