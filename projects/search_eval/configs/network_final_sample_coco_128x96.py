# The full training of the whole-network comparison's picks and references
# (tools/network_vs_random.py): the proxy's recipe and held-out test set
# (data/sample_coco_val400, which no search sees) on a 10-epoch schedule,
# the learning rate dropping tenfold after the 8th, so that the comparison
# and its replication each fit in an hour on 2 CPU cores. The network comes
# from each training's genotype, width and stages.
_base_ = ['../../../configs/autopose/demo/proxy_l6_c16_sample_coco_128x96.py']

train_cfg = dict(max_epochs=10, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=10,
        milestones=[8],
        gamma=0.1,
        by_epoch=True)
]
default_hooks = dict(checkpoint=dict(interval=10))
