"""The command-line helpers the tools share."""
import os
import os.path as osp

from autopose_mm.utils.cli import as_typed


def test_a_default_path_is_written_as_typed(tmp_path, monkeypatch):
    inside = tmp_path / 'repo'
    (inside / 'configs').mkdir(parents=True)
    monkeypatch.chdir(inside)
    config = str(inside / 'configs' / 'a.py')
    # below the current directory: relative, so files written name it the
    # same wherever the repository lies
    assert as_typed(config) == osp.join('configs', 'a.py')
    # elsewhere: unchanged
    outside = str(tmp_path / 'elsewhere' / 'b.py')
    assert as_typed(outside) == outside
    assert not as_typed(outside).startswith(os.pardir)
