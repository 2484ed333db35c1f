"""The patches of other libraries: listed in one place, applied on import,
each once."""
from mmengine.runner import CheckpointLoader
from mmpose.visualization import opencv_backend_visualizer as backend

from autopose_mm import patches
from autopose_mm.utils.checkpoint import load_from_local_safely


def test_every_patch_is_listed_and_applied_on_import():
    assert set(patches.PATCHES) == {
        'safe_checkpoint_loading', 'pose_visualizer_radius',
        'atomic_checkpoints'
    }
    assert set(patches.apply_patches()) == set(patches.PATCHES)
    # the effects: MMEngine's local loader and MMPose's circle drawing
    assert CheckpointLoader._schemes[''] is load_from_local_safely
    draw = backend.OpencvBackendVisualizer.draw_circles
    assert getattr(draw, '_autopose_scalar_args', False)
    # MMEngine's checkpoint writes and auto-resume look-up
    import mmengine.hooks.checkpoint_hook as hook_module
    import mmengine.runner.runner as runner_module

    from autopose_mm.engine import resume
    assert runner_module.save_checkpoint.__wrapped__ is not None
    assert runner_module.find_latest_checkpoint is \
        resume.find_latest_checkpoint
    assert hook_module.open is resume.pointer_open


def test_patches_apply_once(monkeypatch):
    calls = []
    monkeypatch.setitem(patches.PATCHES, 'probe',
                        lambda: calls.append(1) or 'done')
    assert patches.apply_patches()['probe'] == 'done'
    assert patches.apply_patches()['probe'] == 'done'
    assert calls == [1]
    del patches._applied['probe']
