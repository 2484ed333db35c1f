# AutoPose on COCO keypoints at 384x288: the reference recipe
# (./autopose_runtime.py) on ./datasets/coco_384x288.py.
_base_ = ['./autopose_runtime.py', './datasets/coco_384x288.py']

model = dict(head=dict(out_channels=17, decoder={{_base_.codec}}))
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))
