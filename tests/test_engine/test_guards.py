"""The guard hooks, called as the runner calls them."""
from types import SimpleNamespace

import pytest
import torch

from autopose_mm.engine.guards import (
    CheckpointGuardHook,
    CheckpointMismatchError,
    NonFiniteLossHook,
    check_checkpoint,
    compare_state_dicts,
)


def _runner(**cfg):
    return SimpleNamespace(
        epoch=2, iter=41, work_dir='/w', model=torch.nn.Linear(2, 3), cfg=cfg)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_loss_stops_training(value):
    hook = NonFiniteLossHook()
    hook.after_train_iter(_runner(), 0, None,
                          dict(loss=torch.tensor(1.0), acc=0.5))
    with pytest.raises(
            FloatingPointError,
            match=r'loss_kpt is (nan|inf) at epoch 3, iteration 42 '
            r'\(batch 5 of the epoch\)'):
        hook.after_train_iter(
            _runner(), 4, None,
            dict(loss=torch.tensor(1.0), loss_kpt=torch.tensor(value)))


def test_state_dict_comparison():
    model = torch.nn.Linear(2, 3).state_dict()
    ckpt = dict(weight=torch.zeros(3, 4), extra=torch.zeros(1))
    missing, unexpected, shapes = compare_state_dicts(model, ckpt)
    assert missing == ['bias'] and unexpected == ['extra']
    assert shapes == ['weight: checkpoint (3, 4) vs model (3, 2)']


def test_mismatch_is_refused_unless_partial(tmp_path):
    model = torch.nn.Linear(2, 3)
    ckpt = dict(state_dict={'module.weight': torch.zeros(3, 4)})
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint(model, ckpt, 'x.pth')
    msg = str(err.value)
    assert 'checkpoint x.pth does not match' in msg
    assert '1 missing keys (in the model only): bias' in msg
    assert 'weight: checkpoint (3, 4) vs model (3, 2)' in msg
    check_checkpoint(model, ckpt, 'x.pth', partial=True)  # a warning only
    # the matching checkpoint, saved from a wrapped model, passes
    check_checkpoint(
        model,
        dict(state_dict={
            f'module.{k}': v
            for k, v in model.state_dict().items()
        }))


def test_hook_reads_load_partial_from_the_config():
    hook = CheckpointGuardHook()
    ckpt = dict(state_dict=dict(weight=torch.zeros(3, 2)))
    with pytest.raises(CheckpointMismatchError, match='bias'):
        hook.after_load_checkpoint(_runner(), ckpt)
    hook.after_load_checkpoint(_runner(load_partial=True), ckpt)


def test_non_finite_weights_are_not_saved():
    hook = CheckpointGuardHook()
    good = dict(meta={}, state_dict=dict(w=torch.ones(2), n=torch.tensor(3)))
    hook.before_save_checkpoint(_runner(), good)
    bad = dict(meta={}, state_dict=dict(w=torch.tensor([1., float('inf')])))
    with pytest.raises(FloatingPointError, match='refusing to save.*: w'):
        hook.before_save_checkpoint(_runner(), bad)
