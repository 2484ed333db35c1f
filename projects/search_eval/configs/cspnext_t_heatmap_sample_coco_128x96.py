# A diagnostic for the RTMPose references (rtmpose_t_sample_coco_128x96.py):
# RTMPose-t's CSPNeXt backbone under MMPose's HeatmapHead (three
# deconvolutions up to stride 4) and the searched networks' heatmap codec,
# trained with the same recipe. If it learns where RTMPose-t does not, the
# SimCC head is at fault; if not, the backbone trained from scratch is
# (projects/search_eval/docs/log.md has the run).
#   python tools/train.py \
#       projects/search_eval/configs/cspnext_t_heatmap_sample_coco_128x96.py
_base_ = ['./rtmpose_t_sample_coco_128x96.py']

codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
model = dict(
    head=dict(
        _delete_=True,
        type='HeatmapHead',
        in_channels=384,
        out_channels=17,
        deconv_out_channels=(128, 128, 128),
        deconv_kernel_sizes=(4, 4, 4),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
