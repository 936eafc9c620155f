"""Registration of mmvim's modules into the registries of the installed OpenMMLab packages.

Runs once, from ``import mmvim`` (so ``custom_imports=dict(imports=['mmvim'])`` in a config is
enough). mmseg and mmdet are optional: a package that is not installed is skipped, one that is
installed but fails to import raises.
"""
import importlib

from .models import VisionMamba

MODEL_CLASSES = (VisionMamba, )
DOWNSTREAM_PACKAGES = ('mmseg', 'mmdet')


def _register(registry, cls):
    registered = registry.module_dict.get(cls.__name__)
    if registered is cls:
        return
    if registered is not None:
        raise KeyError(f'{registry.scope} registry already has a different {cls.__name__} '
                       f'({registered.__module__}); mmvim cannot register its own')
    registry.register_module(module=cls)


def register_all_modules():
    """Register mmvim's models in the MODELS registry of every installed downstream package, and
    its datasets in mmseg's DATASETS. (Optimizer constructors register in mmengine's own registry,
    which mmseg's and mmdet's inherit, when ``mmvim.engine`` is imported.)

    Returns the names of the packages registered into.
    """
    done = []
    for package in DOWNSTREAM_PACKAGES:
        try:
            registry = importlib.import_module(f'{package}.registry').MODELS
        except ModuleNotFoundError as err:
            if err.name != package:         # installed, but something it needs is missing
                raise
            continue
        for cls in MODEL_CLASSES:
            _register(registry, cls)
        if package == 'mmseg':
            from mmseg.registry import DATASETS
            from .datasets import MiniADE20KDataset
            _register(DATASETS, MiniADE20KDataset)
        done.append(package)
    return done
