"""Configs reach autopose_mm's modules in each supported style. Each check
runs in a fresh interpreter, so that nothing is registered beforehand."""
import os.path as osp
import sys

import pytest
from conftest import REPO, run_cmd

MODEL = """dict(
    type='{scope}TopdownPoseEstimator',
    backbone=dict(type='{scope}AutoPoseNet', arch=None, num_cells=4,
                  base_channels=8),
    neck=dict(type='{scope}AutoPoseDecoder', in_channels=[16, 32, 64, 128]),
    head=dict(type='{scope}HeatmapHead', in_channels=16, out_channels=17,
              deconv_out_channels=None,
              decoder=dict(type='MSRAHeatmap', input_size=(48, 64),
                           heatmap_size=(12, 16), sigma=2)))"""

BUILD = """
import sys
from mmengine.config import Config
from mmengine.registry import DefaultScope, MODELS
from mmengine.runner import Runner
assert 'autopose_mm' not in sys.modules
cfg = Config.fromfile(sys.argv[1])
assert 'autopose_mm' in sys.modules, 'custom_imports did not import it'
if cfg.get('default_scope'):
    DefaultScope.get_instance('check', scope_name=cfg.default_scope)
model = MODELS.build(cfg.model)
print(type(model.backbone).__module__, type(model.backbone).__name__)
"""

STYLES = {
    # default_scope plus custom_imports
    'default_scope': ("default_scope = 'mmpose'\n"
                      "custom_imports = dict(imports=['autopose_mm'])\n"
                      f"model = {MODEL.format(scope='')}\n"),
    # no default scope: scoped type names
    'scoped_names': ("custom_imports = dict(imports=['autopose_mm'])\n"
                     f"model = {MODEL.format(scope='mmpose.')}\n"),
    # inheriting MMPose's own base config (which sets the scope)
    'mmpose_base': ("_base_ = ['mmpose::_base_/default_runtime.py']\n"
                    "custom_imports = dict(imports=['autopose_mm'])\n"
                    f"model = {MODEL.format(scope='')}\n"),
}


@pytest.mark.parametrize('style', list(STYLES))
def test_config_style_builds_autopose(style, tmp_path):
    cfg = tmp_path / f'{style}.py'
    cfg.write_text(STYLES[style])
    script = tmp_path / 'build.py'
    script.write_text(BUILD)
    proc = run_cmd([sys.executable, str(script), str(cfg)], cwd=str(tmp_path))
    assert 'autopose_mm.models.backbone AutoPoseNet' in proc.stdout


def test_import_registers_everything():
    from mmengine.registry import MODEL_WRAPPERS
    from mmpose.registry import MODELS

    import autopose_mm  # noqa: F401
    for name in ('AutoPoseNet', 'AutoPoseDecoder', 'EncoderCell',
                 'UpsampleCell', 'ReLUConvBN', 'FactorizedReduce', 'PoolBN',
                 'SEConnect', 'Zero'):
        assert MODELS.get(name) is not None, name
    assert MODEL_WRAPPERS.get('DeviceAgnosticDDP') is not None


def test_shipped_configs_inherit_mmpose_runtime():
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'autopose', 'l18_c64_coco_384x288.py'))
    assert cfg.default_scope == 'mmpose'
    assert cfg.default_hooks.checkpoint.save_best == 'coco/AP'
    assert cfg.custom_imports.imports == ['autopose_mm']


def test_mim_search_lists_every_config():
    import subprocess
    import sys
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    out = subprocess.run([mim, 'search', 'autopose_mm'],
                         capture_output=True,
                         text=True,
                         timeout=1800).stdout  # a hang guard
    for arch in ('l12_c32', 'l18_c48', 'l18_c64'):
        for suffix in ('coco_256x192', 'coco_384x288', 'coco_384x288_test-dev',
                       'mpii_256x256'):
            assert f'config id: {arch}_{suffix}' in out, out[-2000:]
    assert 'coco/ap                0.673' in out
