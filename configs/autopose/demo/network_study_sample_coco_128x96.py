# The whole-network study on the built-in sample data (tools/search.py): a
# candidate is a whole AutoPose network, its cells per scale, base width C,
# one or two stages and its encoder and decoder cells, trained with the
# short schedule of proxy_screen_l6_c16_sample_coco_128x96.py (8 epochs,
# 128x96, tested on the search's own 400 images). The study has two
# objectives, the test AP and the cost (analytic GMACs here; with
# study.latency_table the latency its table predicts), and returns the front
# of networks over study.cost_range. A trial is tested after 1, 2, 4 and 8
# epochs, and stopped at a rung when it is not in the best half of the
# trials of its cost bucket (study.buckets, log-spaced over the range) that
# reached that rung.
_base_ = ['./proxy_screen_l6_c16_sample_coco_128x96.py']

study = dict(
    name='network',
    space=dict(
        cells_per_scale=[[1, 3], [1, 3], [1, 3], [1, 3]],
        widths=[8, 12, 16, 24],
        stages=[1, 2]),
    cost_range=[0.01, 0.1],
    buckets=4,
    sampler='tpe',
    pruner='halving',
    min_epochs=1,
    reduction_factor=2,
    budget_epochs=64)
