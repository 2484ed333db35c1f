# The tiny network as a whole-network study's candidate: cells per scale,
# width and stages searched with the cells, two epochs (rungs 1 and 2).
_base_ = ['./tiny_study.py']

study = dict(
    name='network',
    space=dict(
        cells_per_scale=[[1, 2], [1, 2], [1, 2], [1, 2]],
        widths=[8, 16],
        stages=[1, 2]),
    cost_range=[0.001, 0.1],
    buckets=2,
    budget_epochs=8)
