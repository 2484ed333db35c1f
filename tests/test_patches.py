"""The patches of other libraries: listed in one place, applied on import,
each once."""
from mmengine.runner import CheckpointLoader
from mmpose.visualization import opencv_backend_visualizer as backend

from autopose_mm import patches
from autopose_mm.utils.checkpoint import load_from_local_safely


def test_every_patch_is_listed_and_applied_on_import():
    assert set(patches.PATCHES) == {
        'safe_checkpoint_loading', 'pose_visualizer_radius'
    }
    assert set(patches.apply_patches()) == set(patches.PATCHES)
    # the effects: MMEngine's local loader and MMPose's circle drawing
    assert CheckpointLoader._schemes[''] is load_from_local_safely
    draw = backend.OpencvBackendVisualizer.draw_circles
    assert getattr(draw, '_autopose_scalar_args', False)


def test_patches_apply_once(monkeypatch):
    calls = []
    monkeypatch.setitem(patches.PATCHES, 'probe',
                        lambda: calls.append(1) or 'done')
    assert patches.apply_patches()['probe'] == 'done'
    assert patches.apply_patches()['probe'] == 'done'
    assert calls == [1]
    del patches._applied['probe']
