"""load_tool_config (tools/train.py, tools/test.py): a config, or one of its _base_ files, that is
not valid Python is named with the line; mmengine's own parser named no file."""
import pytest

from mmvim.utils.tool_config import load_tool_config


@pytest.mark.parametrize('broken', ['config', 'base', 'base of base'])
def test_syntax_error_names_the_file(tmp_path, broken):
    files = {'config.py': "_base_ = ['./_base_/model.py']\nc = 2\n",
             '_base_/model.py': "_base_ = './runtime.py'\nmodel = dict(depth=2)\n",
             '_base_/runtime.py': 'seed = 0\n'}
    bad = {'config': 'config.py', 'base': '_base_/model.py',
           'base of base': '_base_/runtime.py'}[broken]
    files[bad] = files[bad].replace('\n', '\nx = dict(a=(1, 2)\n', 1)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(SystemExit, match=r'syntax errors in config file .*'
                                         f'{bad.split("/")[-1]}: .*never closed.*line 2'):
        load_tool_config(str(tmp_path / 'config.py'))


def test_valid_config_loads_with_its_bases(tmp_path):
    (tmp_path / 'base.py').write_text('a = 1\n')
    (tmp_path / 'config.py').write_text("_base_ = './base.py'\nb = 2\n")
    cfg = load_tool_config(str(tmp_path / 'config.py'), work_dir=str(tmp_path / 'work'))
    assert (cfg.a, cfg.b, cfg.work_dir) == (1, 2, str(tmp_path / 'work'))
