# AutoPose-L12-C32 (L12 cells, 32 initial channels), COCO, 256x192.
_base_ = ['./_base_/autopose_coco_256x192.py']

model = dict(backbone=dict(arch='L12-C32'))
