# AutoPose on COCO keypoints, top-down, 256x192, the reference recipe:
# Adam 1e-3, 210 epochs (x0.1 at 170 and 200), batch 32 per GPU, sigma 2,
# rotation +-40, scale +-0.3, flip, half body (p=0.3), flip test.
# The leaf configs pick the preset (L12-C32, L18-C48, L18-C64).
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['autopose_mm'], allow_failed_imports=False)

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=210,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=32 * 8)
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))
# a checkpoint that does not fit the model, or a non-finite loss or weight,
# stops the run (set load_partial = True to load only the matching weights)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='CheckpointGuardHook'),
    dict(type='NonFiniteLossHook')
]

# codec settings
codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# model settings: the searched encoder, the searched decoder with its
# refinement stage, and one 1x1 heatmap layer per stage (both supervised,
# the last one predicts). model.genotype (a genotype file or 'published')
# builds the backbone and the neck; the neck and head widths follow from the
# backbone's preset (arch) and genotype.
model = dict(
    type='AutoPoseEstimator',
    genotype='published',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(type='AutoPoseNet', arch='L12-C32', init_cfg=None),
    neck=dict(type='AutoPoseDecoder', num_stages=2, init_cfg=None),
    head=dict(
        type='CPMHead',
        out_channels=17,
        num_stages=2,
        deconv_out_channels=None,
        final_layer=dict(kernel_size=1),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# base dataset settings: the layout of data/coco in the README
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# pipelines
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

# data loaders
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='images/train2017/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        bbox_file=data_root + 'person_detection_results/'
        'COCO_val2017_detections_AP_H_56_person.json',
        data_prefix=dict(img='images/val2017/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
