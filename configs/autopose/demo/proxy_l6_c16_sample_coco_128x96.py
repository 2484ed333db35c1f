# The proxy network of the searches on the built-in sample data and of their
# evaluations against random search (projects/search_eval): an AutoPose
# encoder of 6 cells and 16 channels with one decoder stage, at 128x96, with
# a schedule short enough to train a dozen of them on 2 CPU cores (the lab's
# docs/log.md times it). Every genotype in an evaluation trains with exactly
# these settings. It is tested on 400 generated validation images (the
# sample data's 50 and 350 more, generated when missing), which spread an AP
# less over training seeds than the 50 alone (the lab's docs/log.md).
_base_ = ['./l12_c32_sample_coco_128x96.py']

codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
model = dict(
    backbone=dict(arch=None, num_cells=6, base_channels=16),
    head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody', prob=0.3),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0.,
        scale_factor=(0.7, 1.3),
        rotate_factor=40.),
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
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
eval_root = 'data/sample_coco_val400/'
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=eval_root,
        bbox_file=eval_root + 'person_detection_results/'
        'detections_val2017.json',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=eval_root +
                     'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=30, val_interval=30)
optim_wrapper = dict(optimizer=dict(lr=4e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=30,
        milestones=[25],
        gamma=0.1,
        by_epoch=True)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=30, save_best=None, max_keep_ckpts=1))
