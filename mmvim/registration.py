"""Registration of mmvim's modules into the registries of the installed OpenMMLab packages.

Runs once, from ``import mmvim`` (so ``custom_imports=dict(imports=['mmvim'])`` in a config is
enough). mmseg and mmdet are optional: a package that is not installed is skipped, one that is
installed but fails to import raises.
"""
import importlib

from mmengine.registry import MODELS as MMENGINE_MODELS

from .models import LN2d, VisionMamba, ViTDet

MODEL_CLASSES = (VisionMamba, ViTDet)
# Norm layers go to mmengine's root MODELS: mmcv's build_norm_layer looks there when no default
# scope is set, and mmseg's and mmdet's registries fall back to it.
NORM_CLASSES = (LN2d, )
DOWNSTREAM_PACKAGES = ('mmseg', 'mmdet')


def _register(registry, cls):
    registered = registry.module_dict.get(cls.__name__)
    if registered is cls:
        return
    if registered is not None:
        raise KeyError(f'{registry.scope} registry already has a different {cls.__name__} '
                       f'({registered.__module__}); mmvim cannot register its own')
    registry.register_module(module=cls)


def _data_classes(package):
    """(registry name, class) of mmvim's datasets for ``package``: the checked ADE20K and mini
    datasets for mmseg, the checked COCO dataset for mmdet (:mod:`mmvim.datasets`)."""
    if package == 'mmseg':
        from .datasets.checked_seg_loading import CheckedADE20KDataset
        from .datasets.mini_ade20k import MiniADE20KDataset
        return [('DATASETS', CheckedADE20KDataset), ('DATASETS', MiniADE20KDataset)]
    from .datasets.checked_coco import CheckedCocoDataset
    return [('DATASETS', CheckedCocoDataset)]


def register_all_modules():
    """Register mmvim's models and necks in the MODELS registry of every installed downstream
    package, its datasets in their DATASETS (the checked datasets, :mod:`mmvim.datasets`),
    and its norm layers in mmengine's MODELS.
    (Optimizer constructors and hooks register in mmengine's own registries, which mmseg's and
    mmdet's inherit, when ``mmvim.engine`` is imported.)

    Returns the names of the downstream packages registered into.
    """
    for cls in NORM_CLASSES:
        _register(MMENGINE_MODELS, cls)
    done = []
    for package in DOWNSTREAM_PACKAGES:
        try:
            registries = importlib.import_module(f'{package}.registry')
        except ModuleNotFoundError as err:
            if err.name != package:         # installed, but something it needs is missing
                raise
            continue
        # the necks are built from mmcv bricks; mmcv is there wherever mmseg or mmdet is
        from .models.necks import SimpleFPN
        for cls in MODEL_CLASSES + (SimpleFPN, ):
            _register(registries.MODELS, cls)
        for registry_name, cls in _data_classes(package):
            _register(getattr(registries, registry_name), cls)
        done.append(package)
    return done
