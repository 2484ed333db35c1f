# Differentiable cell search at L12-C32 on COCO, 256x192, batch 32: the search
# recipe (./_base_/cell_search.py) on ../_base_/datasets/coco_256x192.py.
# Writes work_dirs/search_l12_c32_coco_256x192/genotype.json after every
# epoch; train it with e.g.
#   python tools/train.py configs/autopose/l12_c32_coco_256x192.py \
#       --cfg-options model.genotype=work_dirs/.../genotype.json
_base_ = ['./_base_/cell_search.py', '../_base_/datasets/coco_256x192.py']

model = dict(head=dict(out_channels=17, decoder={{_base_.codec}}))
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))
