# The cell search of the demo and of the search-versus-random evaluation
# (tools/analysis/search_vs_random.py), on the built-in sample data: a
# supernet as deep and wide as the proxy network that the found cells are
# trained in (6 cells, 16 channels; configs/autopose/demo/
# proxy_l6_c16_sample_coco_128x96.py), every channel through the candidates
# (K = 1), at 64x48.
#
# Differences from the reference search settings (search_l12_c32_*), each
# measured on this data (README, "Does the search work?"):
# - no weight decay on the alphas: the heatmap MSE loss gives alpha
#   gradients of about 1e-6, and Adam's L2 weight decay of 1e-4 pulls as hard
#   as that gradient once the alphas reach about 0.01, which held the
#   strongest operation of an edge at 1.01-1.02x the uniform weight;
# - alpha learning rate 3e-2 (the weights move 10x faster than at 3e-3);
# - the supernet has the proxy's depth: a 4-cell supernet preferred dilated
#   convolutions, which lost to std_conv_3x3 once trained in the 6-cell
#   network;
# - K = 1: with K = 4, a 16-channel supernet passes 2 channels per
#   candidate.
_base_ = ['./search_tiny_sample_coco_64x48.py']

model = dict(
    backbone=dict(num_cells=6, partial_channels=1),
    neck=dict(partial_channels=1))
train_cfg = dict(max_epochs=12, warmup_epochs=4)
optim_wrapper = dict(arch=dict(optimizer=dict(lr=3e-2, weight_decay=0)))
