# The AutoPose training recipe, data aside: Adam 1e-3, 210 epochs (x0.1 at
# 170 and 200), the searched encoder and decoder and a heatmap head, flip
# test. The dataset bases (./datasets/) bring the data, the codec and the
# evaluator; ./autopose_*.py join the two.
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
# a checkpoint that does not fit the model, or a non-finite loss or weight,
# stops the run (set load_partial = True to load only the matching weights)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='CheckpointGuardHook'),
    dict(type='NonFiniteLossHook')
]

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
        num_stages=2,
        deconv_out_channels=None,
        final_layer=dict(kernel_size=1),
        loss=dict(type='KeypointMSELoss', use_target_weight=True)
        # out_channels and the decoder (the dataset's codec): ./autopose_*.py
    ),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))
