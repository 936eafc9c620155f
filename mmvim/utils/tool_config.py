"""What tools/train.py and tools/test.py share: reading the config, and checking its data exists."""
import os
import os.path as osp

from mmengine.config import Config, DictAction

from .checkpoint import add_trust_checkpoint_option
from .cpu_distributed import adapt_to_cpus, cpu_launch

DATALOADERS = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}


def parse_tool_args(parser):
    """Add the options train.py and test.py share (``--cfg-options``, ``--trust-checkpoint``,
    ``--launcher``, ``--local-rank``), parse, and export LOCAL_RANK for the launcher."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    add_trust_checkpoint_option(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def launch_rank():
    """This process's rank as its launcher set it in the environment (torchrun's RANK, Slurm's
    SLURM_PROCID, Open MPI's OMPI_COMM_WORLD_RANK), 0 when launched alone; known before
    mmengine sets up the process group."""
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def load_tool_config(path, cfg_options=None, work_dir=None, launcher='none'):
    """Config from ``path`` with ``--cfg-options`` merged, ``launcher`` set and ``work_dir``
    defaulting to ``work_dirs/<config name>`` (mmseg's and mmdet's convention); a launcher run
    without CUDA is set up for CPUs (:func:`mmvim.utils.cpu_distributed.adapt_to_cpus`)."""
    if not osp.isfile(path):
        raise SystemExit(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError:
        _check_config_syntax(path)          # names the file; mmengine's parser named none
        raise
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    if cpu_launch(launcher):
        adapt_to_cpus(cfg)
    return cfg


def _check_config_syntax(path):
    """Exit naming the file, the line and the error if the config at ``path`` or one of its
    ``_base_`` files (depth first, as mmengine reads them) is not valid Python."""
    try:
        for base in Config._get_base_files(path):       # parses ``path`` itself first
            _check_config_syntax(Config._get_cfg_path(base, path)[0])
    except SyntaxError as err:
        raise SystemExit(str(err)) from None


def _datasets(dataset_cfg):
    """The leaf dataset configs inside wrappers (RepeatDataset, ConcatDataset, ...)."""
    if 'datasets' in dataset_cfg:
        for child in dataset_cfg['datasets']:
            yield from _datasets(child)
    elif 'dataset' in dataset_cfg:
        yield from _datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def _dataset_paths(dataset_cfg):
    root = dataset_cfg.get('data_root') or ''
    paths = [root] if root else []
    for value in (dataset_cfg.get('data_prefix') or {}).values():
        if isinstance(value, str) and value:
            paths.append(osp.join(root, value))
    if dataset_cfg.get('ann_file'):
        paths.append(osp.join(root, dataset_cfg['ann_file']))
    return paths


def _path_problem(path):
    """'does not exist', 'is an empty folder', 'is an empty file', or None for data."""
    if not osp.exists(path):
        return 'does not exist'
    if osp.isdir(path):
        with os.scandir(path) as entries:
            return 'is an empty folder' if next(entries, None) is None else None
    return 'is an empty file' if osp.getsize(path) == 0 else None


def require_data(cfg, splits):
    """Exit with a message naming the path if a dataset folder or annotation file of ``splits``
    is missing or empty (mmengine would fail with "need at least one array to concatenate")."""
    for split in splits:
        loader = cfg.get(DATALOADERS[split])
        if not loader:
            continue
        for dataset in _datasets(loader['dataset']):
            for path in _dataset_paths(dataset):
                problem = _path_problem(path)
                if problem:
                    raise SystemExit(
                        f'{dataset.get("type", "the dataset")} ({split} split) not found: '
                        f'{path} {problem} (from {DATALOADERS[split]} in the config; '
                        f'working directory {os.getcwd()}).\nSee docs/datasets.md for where the '
                        f'data goes and how to prepare it, or point the config at it with '
                        f'--cfg-options {DATALOADERS[split]}.dataset.data_root=/path/to/data')
