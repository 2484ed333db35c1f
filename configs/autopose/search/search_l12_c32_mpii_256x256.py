# Differentiable cell search at L12-C32 on MPII, 256x256, with the
# reference's search settings (below). Writes
# work_dirs/search_l12_c32_mpii_256x256/genotype.json after every epoch.
_base_ = ['../l12_c32_mpii_256x256.py']

model = dict(
    type='AutoPoseSearchEstimator',
    genotype=None,  # the supernet holds every genotype
    backbone=dict(
        _delete_=True,
        type='AutoPoseSearchNet',
        arch='L12-C32',
        partial_channels=4),
    neck=dict(_delete_=True, type='AutoPoseSearchDecoder', partial_channels=4),
    head=dict(
        _delete_=True,
        type='HeatmapHead',
        out_channels=16,
        deconv_out_channels=None,
        final_layer=dict(kernel_size=1),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder={{_base_.codec}}),
    test_cfg=dict(flip_test=False))
# The reference's search settings: 60 epochs, the first 20 training weights
# only; weights: SGD lr 1e-3 (x0.2 at 20 and 40), momentum 0.9, weight decay
# 1e-4; alphas (and edge weights): Adam lr 4e-4, betas (0.5, 0.999), weight
# decay 1e-4. GenotypeExportHook writes <work_dir>/genotype.json every epoch.
train_cfg = dict(
    _delete_=True,
    type='CellSearchLoop',
    max_epochs=60,
    warmup_epochs=20,
    val_interval=10)
optim_wrapper = dict(
    _delete_=True,
    constructor='SearchOptimWrapperConstructor',
    weights=dict(
        optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4)),
    arch=dict(
        optimizer=dict(
            type='Adam', lr=4e-4, betas=(0.5, 0.999), weight_decay=1e-4)))
param_scheduler = dict(
    _delete_=True,
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
default_hooks = dict(
    checkpoint=dict(
        interval=1, max_keep_ckpts=2, save_best='PCK', rule='greater'))
