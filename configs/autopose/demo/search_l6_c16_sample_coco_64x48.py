# The cell search on the built-in sample data (evaluated against random cells
# by projects/search_eval/tools/search_vs_random.py): a
# supernet as deep and wide as the proxy network that the found cells are
# trained in (6 cells, 16 channels; configs/autopose/demo/
# proxy_l6_c16_sample_coco_128x96.py), every channel through the candidates
# (K = 1), at 64x48.
#
# Differences from the reference search settings (search_l12_c32_*), each
# measured on this data (the lab's docs/log.md, "Search settings"):
# - no weight decay on the alphas: the heatmap loss's alpha gradients are
#   small enough for Adam's L2 weight decay to hold the alphas near uniform;
# - a larger alpha learning rate, 3e-2;
# - the supernet has the proxy's depth (a shallower one preferred other
#   operations than the 6-cell network trains best with);
# - K = 1: with K = 4, a 16-channel supernet passes 2 channels per
#   candidate.
_base_ = ['./search_tiny_sample_coco_64x48.py']

model = dict(
    backbone=dict(num_cells=6, partial_channels=1),
    neck=dict(partial_channels=1))
train_cfg = dict(max_epochs=12, warmup_epochs=4)
optim_wrapper = dict(arch=dict(optimizer=dict(lr=3e-2, weight_decay=0)))
