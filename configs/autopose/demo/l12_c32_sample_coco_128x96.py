# AutoPose-L12-C32 on the built-in synthetic sample data (data/sample_coco),
# sized so that the demo's search, training and evaluation fit in 15 minutes
# on 2 CPU cores: the real COCO config's network at stage 1 (one decoder,
# HeatmapHead), at 128x96, with the sample data and a short schedule.
#   python tools/misc/generate_sample_data.py
#   python tools/train.py configs/autopose/demo/l12_c32_sample_coco_128x96.py
_base_ = ['../l12_c32_coco_256x192.py']

codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1)
model = dict(
    neck=dict(num_stages=1),
    head=dict(
        _delete_=True,
        type='HeatmapHead',
        out_channels=17,
        deconv_out_channels=None,
        final_layer=dict(kernel_size=1),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec))

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

data_root = 'data/sample_coco/'
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        bbox_file=data_root + 'person_detection_results/'
        'detections_val2017.json',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root +
                     'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

# a short schedule
train_cfg = dict(max_epochs=20, val_interval=20)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=20,
        milestones=[16],
        gamma=0.1,
        by_epoch=True)
]
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=20, save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
