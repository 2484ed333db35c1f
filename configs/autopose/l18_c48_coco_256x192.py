# AutoPose-L18-C48 (L18 cells, 48 initial channels), COCO, 256x192.
_base_ = ['./_base_/autopose_coco_256x192.py']

model = dict(backbone=dict(arch='L18-C48'))
