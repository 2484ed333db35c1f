# AutoPose's bi-level search on COCO at 256x192, C=32: the cells by gradient
# (as search_l12_c32_coco_256x192.py) and the network level, i.e. how the
# 12 encoder cells spread over the four scales, by reinforcement learning.
# Set num_cells to a list (e.g. [10, 12, 14]) to search the depth too, and
# train_cfg.flops_target (GMACs) to pull the layout toward a budget. Writes
# work_dirs/bilevel_search_c32_coco_256x192/genotype.json, which holds the
# cells and "network": {"cells_per_scale": [...]}; AutoPoseNet builds it.
_base_ = ['./search_l12_c32_coco_256x192.py']

model = dict(
    type='AutoPoseBiLevelSearchEstimator',
    backbone=dict(
        _delete_=True,  # a supernet of other settings than the cell search's
        type='AutoPoseBiLevelSearchNet',
        base_channels=32,
        num_cells=12,
        max_cells=6,
        partial_channels=4))
train_cfg = dict(
    type='BiLevelSearchLoop',
    controller_interval=1,
    flops_target=None,
    flops_weight=1.0)
optim_wrapper = dict(
    controller=dict(optimizer=dict(type='Adam', lr=0.05, betas=(0.5, 0.999))))
param_scheduler = dict(controller=[])
# a sampled layout leaves the other cells of the supernet unused
find_unused_parameters = True
