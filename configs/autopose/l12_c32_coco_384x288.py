# AutoPose-L12-C32 (L12 cells, 32 initial channels), COCO, 384x288.
_base_ = ['./_base_/autopose_coco_384x288.py']

model = dict(backbone=dict(arch='L12-C32'))
