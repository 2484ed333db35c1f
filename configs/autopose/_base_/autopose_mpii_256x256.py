# AutoPose on MPII, top-down, 256x256: the reference recipe
# (./autopose_runtime.py) on MPII (./datasets/mpii_256x256.py). The leaf
# configs pick the preset (L12-C32, L18-C48, L18-C64).
_base_ = ['./autopose_runtime.py', './datasets/mpii_256x256.py']

model = dict(head=dict(out_channels=16, decoder={{_base_.codec}}))
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))
