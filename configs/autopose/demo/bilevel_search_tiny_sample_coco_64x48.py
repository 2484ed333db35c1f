# A tiny bi-level search on the built-in sample data, for the tests: the
# tiny cell search with the network level searched as well (4 to 8 cells,
# at most 3 per scale).
_base_ = ['./search_tiny_sample_coco_64x48.py']

model = dict(
    type='AutoPoseBiLevelSearchEstimator',
    backbone=dict(
        _delete_=True,  # a supernet of other settings than the cell search's
        type='AutoPoseBiLevelSearchNet',
        base_channels=16,
        num_cells=[4, 5, 6, 7, 8],
        max_cells=3,
        partial_channels=4))
train_cfg = dict(
    type='BiLevelSearchLoop',
    controller_interval=1,
    flops_target=None,
    flops_weight=1.0)
optim_wrapper = dict(
    controller=dict(optimizer=dict(type='Adam', lr=0.1, betas=(0.5, 0.999))))
param_scheduler = dict(controller=[])
find_unused_parameters = True
