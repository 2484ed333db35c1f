# The tiny network as a study's candidate: two epochs (rungs 1 and 2),
# tested on the workspace's data/sample_coco_search400, a small budget and
# short heartbeats so that a killed worker's trial is retried within
# seconds.
_base_ = ['./tiny_screen.py']

train_cfg = dict(max_epochs=2, val_interval=2)
study = dict(
    sampler='tpe',
    pruner='halving',
    min_epochs=1,
    reduction_factor=2,
    budget_epochs=6,
    tolerance=0.5,
    heartbeat=1,
    grace=3)
