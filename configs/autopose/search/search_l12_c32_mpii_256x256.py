# Differentiable cell search at L12-C32 on MPII, 256x256: the search recipe
# (./_base_/cell_search.py) on ../_base_/datasets/mpii_256x256.py. Writes
# work_dirs/search_l12_c32_mpii_256x256/genotype.json after every epoch.
_base_ = ['./_base_/cell_search.py', '../_base_/datasets/mpii_256x256.py']

model = dict(head=dict(out_channels=16, decoder={{_base_.codec}}))
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))
