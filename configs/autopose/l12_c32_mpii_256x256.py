# AutoPose-L12-C32 (12 cells, 32 initial channels), MPII, 256x256.
_base_ = ['./_base_/autopose_mpii_256x256.py']

model = dict(backbone=dict(arch='L12-C32'))
