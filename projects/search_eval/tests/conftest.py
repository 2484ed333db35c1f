"""The lab's tests share the package's test helpers and fixtures (the
sample-data workspace, the tool runner): they are loaded from the
package's ``tests/conftest.py`` under another module name, and the lab's
own modules are made importable."""
import importlib.util
import os.path as osp
import sys

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, PROJECT)

_spec = importlib.util.spec_from_file_location(
    'autopose_test_helpers',
    osp.join(osp.dirname(osp.dirname(PROJECT)), 'tests', 'conftest.py'))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)

REPO = _helpers.REPO
TINY_CFG = _helpers.TINY_CFG
tool_env = _helpers.tool_env
run_cmd = _helpers.run_cmd


def run_tool(tool: str, *args: str, **kwargs):
    """Run the lab's ``tools/<tool>`` (see the package's ``run_tool``)."""
    return run_cmd(
        [sys.executable, osp.join(PROJECT, 'tools', tool)] + list(args),
        **kwargs)


sample_workspace = _helpers.sample_workspace

__all__ = [
    'PROJECT', 'REPO', 'TINY_CFG', 'tool_env', 'run_cmd', 'run_tool',
    'sample_workspace'
]
