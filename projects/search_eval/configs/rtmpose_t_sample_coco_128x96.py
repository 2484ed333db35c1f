# MMPose's RTMPose-t (CSPNeXt backbone, SimCC head) trained exactly as the
# searched networks of the comparisons are (proxy_l6_c16_sample_coco_128x96.py:
# the built-in sample data, 128x96 input, its augmentation, optimizer and
# 30-epoch schedule, its 400 test images), from scratch: nothing pre-trained,
# nothing downloaded. It puts the hand-designed networks on the same
# accuracy-latency axes as a search's picks:
#   python projects/search_eval/tools/front_vs_rtmpose.py
# RTMPose's own recipe (AdamW, 420 epochs, stronger augmentation, EMA) is not
# used, so that only the network differs.
_base_ = ['../../../configs/autopose/demo/proxy_l6_c16_sample_coco_128x96.py']

# RTMPose's SimCC target at 256x192 scaled to 128x96
codec = dict(
    type='SimCCLabel',
    input_size=(96, 128),
    sigma=(2.45, 2.83),
    simcc_split_ratio=2.0,
    normalize=False,
    use_dark=False)
widen_factor = 0.375  # RTMPose-t; RTMPose-s: 0.5
deepen_factor = 0.167  # RTMPose-t; RTMPose-s: 0.33
model = dict(
    _delete_=True,
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        _scope_='mmdet',
        type='CSPNeXt',
        arch='P5',
        expand_ratio=0.5,
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        out_indices=(4, ),
        channel_attention=True,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU'),
        init_cfg=None),
    head=dict(
        type='RTMCCHead',
        in_channels=int(1024 * widen_factor),
        out_channels=17,
        input_size=codec['input_size'],
        in_featuremap_size=tuple(s // 32 for s in codec['input_size']),
        simcc_split_ratio=codec['simcc_split_ratio'],
        final_layer_kernel_size=7,
        gau_cfg=dict(
            hidden_dims=256,
            s=128,
            expansion_factor=2,
            dropout_rate=0.,
            drop_path=0.,
            act_fn='SiLU',
            use_rel_bias=False,
            pos_enc=False),
        loss=dict(
            type='KLDiscretLoss',
            use_target_weight=True,
            beta=10.,
            label_softmax=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
