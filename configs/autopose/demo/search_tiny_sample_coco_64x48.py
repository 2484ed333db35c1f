# A tiny cell search on the built-in sample data (data/sample_coco), for the
# demo and the tests: the COCO search config with a 4-cell, 16-channel
# supernet at 64x48 and a short schedule (2 warm-up epochs, then 2 search
# epochs with larger steps).
_base_ = ['../search/search_l12_c32_coco_256x192.py']

codec = dict(
    type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=1)
model = dict(
    backbone=dict(arch=None, num_cells=4, base_channels=16),
    head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
data_root = 'data/sample_coco/'
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None

train_cfg = dict(max_epochs=4, warmup_epochs=2, val_interval=100)
optim_wrapper = dict(
    weights=dict(optimizer=dict(lr=0.05)), arch=dict(optimizer=dict(lr=3e-3)))
param_scheduler = dict(weights=[], arch=[])
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=5))
randomness = dict(seed=0)
