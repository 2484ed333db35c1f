# The tiny whole-network study for a latency range: one width and one
# stage (latency tables hold stage-1 blocks at one width), the cost the
# latency a table of this space predicts (tools/analysis/latency_table.py
# --config this file).
_base_ = ['./tiny_network_study.py']

study = dict(
    name='latency',
    space=dict(
        cells_per_scale=[[1, 2], [1, 1], [1, 2], [1, 1]],
        widths=[8],
        stages=[1]),
    cost_range=[0.01, 100.])
