# AutoPose-L18-C48 (18 cells, 48 initial channels), MPII, 256x256.
_base_ = ['./_base_/autopose_mpii_256x256.py']

model = dict(backbone=dict(arch='L18-C48'))
