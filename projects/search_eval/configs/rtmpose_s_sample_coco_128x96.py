# MMPose's RTMPose-s trained as the searched networks of the comparisons are;
# see rtmpose_t_sample_coco_128x96.py.
_base_ = ['./rtmpose_t_sample_coco_128x96.py']

model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5),
    head=dict(in_channels=512))
