import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from autopose_mm.utils import UnsafeCheckpointError, load_from_local_safely


def test_stack_objects_load_with_weights_only(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    ckpt = dict(state_dict={'w': torch.ones(2)},
                meta=dict(dataset_meta=dict(sigmas=np.arange(3.)),
                          flag=np.float64(2.0)),
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
