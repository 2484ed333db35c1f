# Differentiable cell search at L12-C32, data aside, with the reference's
# search settings: 60 epochs, the first 20 training weights only; weights:
# SGD lr 1e-3 (x0.2 at 20 and 40), momentum 0.9, weight decay 1e-4; alphas
# (and edge weights): Adam lr 4e-4, betas (0.5, 0.999), weight decay 1e-4.
# GenotypeExportHook writes <work_dir>/genotype.json after every epoch. The
# dataset bases (../../_base_/datasets/) bring the data, the codec and the
# evaluator; ../search_*.py join the two. docs/search.md explains the steps.
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['autopose_mm'], allow_failed_imports=False)

# the supernet: search encoder and decoder, one 1x1 heatmap layer
model = dict(
    type='AutoPoseSearchEstimator',
    genotype=None,  # the supernet holds every genotype
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='AutoPoseSearchNet', arch='L12-C32', partial_channels=4),
    neck=dict(type='AutoPoseSearchDecoder', partial_channels=4),
    head=dict(
        type='HeatmapHead',
        deconv_out_channels=None,
        final_layer=dict(kernel_size=1),
        loss=dict(type='KeypointMSELoss', use_target_weight=True)
        # out_channels and the decoder (the dataset's codec): ../search_*.py
    ),
    test_cfg=dict(flip_test=False))

# a loop of its own: MMEngine takes either a loop type or MMPose's default
# by_epoch, so the default's train_cfg is replaced
train_cfg = dict(
    _delete_=True,
    type='CellSearchLoop',
    max_epochs=60,
    warmup_epochs=20,
    val_interval=10)
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(
        optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4)),
    arch=dict(
        optimizer=dict(
            type='Adam', lr=4e-4, betas=(0.5, 0.999), weight_decay=1e-4)))
param_scheduler = dict(
    weights=[
        dict(
            type='MultiStepLR',
            milestones=[20, 40],
            gamma=0.2,
            by_epoch=True,
            begin=0,
            end=60)
    ],
    arch=[])
auto_scale_lr = dict(enable=False)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='GenotypeExportHook'),
    dict(type='CheckpointGuardHook')
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
