# AutoPose-L18-C64 (L18 cells, 64 initial channels), COCO, 256x192.
_base_ = ['./_base_/autopose_coco_256x192.py']

model = dict(backbone=dict(arch='L18-C64'))
