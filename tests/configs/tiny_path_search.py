# The tiny search config as a single-path one-shot search: 2 epochs, 3
# candidates scored on 1 held-out batch.
_base_ = ['../../configs/autopose/demo/search_tiny_sample_coco_64x48.py']

model = dict(
    type='AutoPoseSinglePathSearchEstimator',
    backbone=dict(sample_paths=True),
    neck=dict(sample_paths=True))
train_cfg = dict(
    _delete_=True,
    type='SinglePathSearchLoop',
    max_epochs=2,
    num_candidates=3,
    score_batches=1,
    val_interval=100)
