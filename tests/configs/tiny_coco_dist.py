# tiny_coco with a hook that saves each rank's weights, to compare them.
_base_ = ['./tiny_coco.py']
custom_imports = dict(imports=['autopose_mm', 'rank_dump'])
custom_hooks = [dict(type='SyncBuffersHook'), dict(type='DumpRankStateHook')]
train_cfg = dict(max_epochs=1, val_interval=10)
