# AutoPose on MPII, top-down, 256x256: the COCO recipe with MPII's data, 16
# keypoints, rotation +-30 and scale 0.75-1.25, flip test; PCKh and PCKh@0.1
# (reported by MpiiPCKAccuracy as 'PCK' and 'PCK@0.1', normalised by the
# head size). The leaf configs pick the preset (L12-C32, L18-C48, L18-C64).
_base_ = ['./autopose_coco_256x192.py']

train_cfg = dict(max_epochs=210, val_interval=10)
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))

codec = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)
model = dict(head=dict(out_channels=16, decoder=codec))

# the layout of data/mpii in the README
dataset_type = 'MpiiDataset'
data_root = 'data/mpii/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0.,
        scale_factor=(0.75, 1.25),
        rotate_factor=30.),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_mode='topdown',
        ann_file='annot/train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_mode='topdown',
        ann_file='annot/valid.json',
        headbox_file=data_root + 'annot/gt_valid.mat',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MpiiPCKAccuracy', norm_item='head')
test_evaluator = val_evaluator
