import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from autopose_mm.utils import (
    CheckpointReadError,
    UnsafeCheckpointError,
    load_from_local_safely,
    pickled_globals,
)


def test_stack_objects_load_with_weights_only(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    ckpt = dict(
        state_dict={'w': torch.ones(2)},
        meta=dict(
            dataset_meta=dict(sigmas=np.arange(3.)), flag=np.float64(2.0)),
        message_hub=dict(log_scalars={'loss': buf}))
    path = tmp_path / 'ok.pth'
    torch.save(ckpt, path)
    # through MMEngine's loader, which importing autopose_mm redirects here
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert np.array_equal(loaded['meta']['dataset_meta']['sigmas'],
                          np.arange(3.))
    assert loaded['message_hub']['log_scalars']['loss'].current() == 1.5


class _Payload:

    def __reduce__(self):
        return (os.getcwd, ())


def test_other_globals_are_refused(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'x': _Payload()}, path)
    with pytest.raises(UnsafeCheckpointError, match='getcwd'):
        _load_checkpoint(str(path))
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)
    with pytest.raises(FileNotFoundError, match='can not be found'):
        load_from_local_safely(str(tmp_path / 'missing.pth'))


def test_allow_list_does_not_leak(tmp_path):
    path = tmp_path / 'np.pth'
    torch.save({'a': np.arange(2)}, path)
    load_from_local_safely(str(path))
    # outside our loader torch's default allow-list is unchanged
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


class _Shell:

    def __reduce__(self):
        return (os.system, ('true', ))


@pytest.mark.parametrize('content, match', [
    (b'', 'is empty'),
    (b'just some text\n', 'truncated, damaged or not a PyTorch checkpoint'),
])
def test_unreadable_files_are_told_apart_from_unsafe_ones(
        tmp_path, content, match):
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointReadError, match=match) as err:
        _load_checkpoint(str(path))
    assert str(path) in str(err.value)
    assert 'weights_only' not in str(err.value)


@pytest.mark.parametrize('zip_format', [True, False])
def test_truncated_checkpoints_are_named(tmp_path, zip_format):
    whole = tmp_path / 'whole.pth'
    torch.save({'state_dict': {
        'w': torch.ones(1000)
    }},
               whole,
               _use_new_zipfile_serialization=zip_format)
    data = whole.read_bytes()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointReadError, match='truncated') as err:
        load_from_local_safely(str(cut))
    assert 'cut.pth' in str(err.value)
    assert 'weights_only' not in str(err.value)


@pytest.mark.parametrize('writer', ['zip', 'legacy', 'pickle'])
def test_forbidden_globals_are_listed_in_every_format(tmp_path, writer):
    path = tmp_path / 'evil.pth'
    obj = {'w': torch.ones(2), 'x': _Shell()}
    if writer == 'pickle':
        with open(path, 'wb') as f:
            pickle.dump(obj, f)
    else:
        torch.save(obj, path, _use_new_zipfile_serialization=writer == 'zip')
    with pytest.raises(UnsafeCheckpointError) as err:
        load_from_local_safely(str(path))
    msg = str(err.value)
    assert 'system' in msg and str(path) in msg
    # torch's own tensor machinery is not reported as forbidden
    assert 'rebuild_tensor' not in msg and 'Storage' not in msg
    assert 'weights_only' not in msg
    assert any(name.endswith('.system') for name in pickled_globals(str(path)))
