"""mmvim registers into mmseg's and mmdet's registries, and its core imports without them."""
import subprocess
import sys
import textwrap

from mmengine.config import Config


def test_registries_of_both_packages():
    import mmvim
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    from mmvim.models import VisionMamba
    assert SEG_MODELS.get('VisionMamba') is VisionMamba
    assert DET_MODELS.get('VisionMamba') is VisionMamba
    assert mmvim.register_all_modules() == ['mmseg', 'mmdet']        # idempotent


def test_config_with_custom_imports_builds_in_each_scope(tmp_path):
    for scope in ('mmseg', 'mmdet'):
        path = tmp_path / f'{scope}_cfg.py'
        path.write_text(textwrap.dedent(f'''
            default_scope = '{scope}'
            custom_imports = dict(imports=['mmvim'], allow_failed_imports=False)
            model = dict(type='VisionMamba', arch=None, embed_dim=32, depth=2, out_indices=(1, ))
        '''))
        cfg = Config.fromfile(str(path))
        registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
        model = registry.build(cfg.model)
        assert type(model).__name__ == 'VisionMamba' and model.depth == 2


HIDE_OPENMMLAB = textwrap.dedent('''
    import sys
    class Hide:
        """Act as if mmcv, mmseg and mmdet were not installed."""
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('mmcv', 'mmseg', 'mmdet'):
                raise ModuleNotFoundError(f'No module named {name!r}', name=name)
    sys.meta_path.insert(0, Hide())
''')


def test_ops_and_backbone_import_without_mmcv_mmseg_mmdet():
    code = HIDE_OPENMMLAB + textwrap.dedent('''
        import torch
        import mmvim
        from mmvim.ops import selective_scan
        from mmvim.models.backbones.vim import VisionMamba
        assert mmvim.register_all_modules() == []
        model = VisionMamba(arch=None, embed_dim=32, depth=2, out_indices=(1, ))
        print(model(torch.randn(1, 3, 32, 32))[0].shape)
        assert not any(m.split('.')[0] in ('mmcv', 'mmseg', 'mmdet') for m in sys.modules)
    ''')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'torch.Size([1, 32, 2, 2])' in result.stdout
