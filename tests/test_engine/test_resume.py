"""Checkpoints written whole, and ``--resume`` from the newest one that
loads."""
import errno
import logging
import os
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger

from autopose_mm.engine import resume
from autopose_mm.engine.resume import (
    atomic_torch_save,
    find_latest_checkpoint,
    pointer_open,
)
from autopose_mm.utils.io import DiskFullError, named_disk_errors


def save(path, epoch):
    torch.save(dict(meta=dict(epoch=epoch), state_dict={}), path)


@pytest.fixture
def log(tmp_path):
    path = tmp_path / 'resume.log'
    MMLogger.get_instance(
        f'resume_{tmp_path.name}', log_file=str(path), log_level=logging.INFO)
    return path


def test_pointer_names_a_good_checkpoint(tmp_path):
    for epoch in (1, 2):
        save(tmp_path / f'epoch_{epoch}.pth', epoch)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'epoch_1.pth')


@pytest.mark.parametrize('pointer', ['', 'missing', None])
def test_falls_back_to_the_newest_checkpoint_that_loads(
        tmp_path, log, pointer):
    for epoch in (1, 2, 10):
        save(tmp_path / f'epoch_{epoch}.pth', epoch)
    # the newest was cut off while being written
    with open(tmp_path / 'epoch_10.pth', 'r+b') as f:
        f.truncate(100)
    if pointer is not None:
        target = str(tmp_path / 'gone.pth') if pointer == 'missing' else ''
        (tmp_path / 'last_checkpoint').write_text(target)
    found = find_latest_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'epoch_2.pth')
    text = log.read_text()
    assert 'resuming from' in text and 'epoch_2.pth' in text
    assert 'epoch_10.pth (CheckpointReadError' in text


def test_nothing_to_resume(tmp_path, log):
    assert find_latest_checkpoint(str(tmp_path)) is None
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    assert find_latest_checkpoint(str(tmp_path)) is None
    assert 'training starts afresh' in log.read_text()


def test_pointer_appears_whole_on_close(tmp_path):
    path = str(tmp_path / 'last_checkpoint')
    with open(path, 'w') as f:
        f.write('old')
    f = pointer_open(path, 'w')
    f.write('new')
    assert open(path).read() == 'old'  # a kill here keeps the old pointer
    f.close()
    assert open(path).read() == 'new'
    # any other file is the built-in open
    with pointer_open(str(tmp_path / 'other.txt'), 'w') as g:
        assert not isinstance(g, resume._AtomicText)


def test_full_disk_while_saving_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_3.pth'
    save(path, 3)
    before = path.read_bytes()

    def full(obj, f):
        f.write(b'partial')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(torch, 'save', full)
    with pytest.raises(
            DiskFullError, match=r'epoch_3\.pth.*nothing was '
            r'replaced'):
        atomic_torch_save({}, str(path))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ['epoch_3.pth']


def test_write_failures_count_as_full_only_on_a_full_disk(
        tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple
    usage = namedtuple('usage', 'total used free')
    target = str(tmp_path / 'model.xml')
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: usage(1, 1, 2**40))
    with pytest.raises(RuntimeError, match='iostream error'):
        with named_disk_errors(target):
            raise RuntimeError('basic_ios::clear: iostream error')
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: usage(1, 1, 1024))
    with pytest.raises(DiskFullError, match=r'model\.xml'):
        with named_disk_errors(target):
            raise RuntimeError('basic_ios::clear: iostream error')
    assert not osp.exists(target)
