# AutoPose on COCO keypoints, top-down, 256x192, the reference recipe
# (./autopose_runtime.py) on COCO (./datasets/coco_256x192.py), batch 32 per
# GPU. The leaf configs pick the preset (L12-C32, L18-C48, L18-C64).
_base_ = ['./autopose_runtime.py', './datasets/coco_256x192.py']

model = dict(head=dict(out_channels=17, decoder={{_base_.codec}}))
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))
