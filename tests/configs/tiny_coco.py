# A tiny AutoPose (4 cells, 8 channels, 64x48 input) on generated COCO-format
# data: the real COCO config with only size, data and schedule overridden.
# The tests pass data_root (and the files below it) with --cfg-options.
_base_ = ['../../configs/autopose/l12_c32_coco_256x192.py']

codec = dict(
    type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=1)
model = dict(
    backbone=dict(arch=None, num_cells=4, base_channels=8),
    neck=dict(
        num_stages=2,
        refine_channels=16,
        refine_num_cells=4,
        refine_reduction_indices=(1, 2, 3)),
    head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
data_root = 'data/sample_coco/'
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        bbox_file=data_root + 'person_detection_results/'
        'detections_val2017.json',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root +
                     'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=2, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = []
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=3))
randomness = dict(seed=0)
log_processor = dict(window_size=1)  # log every iteration's own loss
