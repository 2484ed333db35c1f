# AutoPose-L18-C64 (L18 cells, 64 initial channels), COCO, 384x288.
_base_ = ['./_base_/autopose_coco_384x288.py']

model = dict(backbone=dict(arch='L18-C64'))
