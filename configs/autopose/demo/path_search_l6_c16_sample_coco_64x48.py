# Single-path one-shot cell search on the built-in sample data, the same
# supernet as search_l6_c16_sample_coco_64x48.py (6 cells, 16 channels,
# K = 1, 64x48): every weight step trains one random derived-shaped cell per
# cell type (with Adam, lr 1e-3, which trains the supernet faster than the
# cell search's SGD: the lab's docs/log.md); after the last epoch the
# supernet scores 64 random genotypes of equal cost (the median of the space
# unless flops_target is set) by minus its heatmap loss on 8 held-out
# batches, and the best is written as genotype.json. path_search.json lists
# every candidate's cost and score.
_base_ = ['./search_l6_c16_sample_coco_64x48.py']

model = dict(
    type='AutoPoseSinglePathSearchEstimator',
    backbone=dict(sample_paths=True),
    neck=dict(sample_paths=True))
train_cfg = dict(
    _delete_=True,
    type='SinglePathSearchLoop',
    max_epochs=16,
    num_candidates=64,
    score_batches=8,
    score='loss',
    tolerance=0.1,
    val_interval=1000)
optim_wrapper = dict(
    weights=dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-3)))
