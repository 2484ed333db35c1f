# RTMPose-t on the sample data (rtmpose_t_sample_coco_128x96.py) with
# RTMPose's own optimizer choices instead of the searched networks': AdamW
# at 4e-3 with weight decay 0.05 (none on norms and biases), a long linear
# warm-up, cosine decay over the second half, and four times the epochs.
# Still from scratch: it asks whether RTMPose learns here given a recipe
# made for it (projects/search_eval/docs/log.md has the run).
#   python tools/train.py \
#       projects/search_eval/configs/rtmpose_t_adamw_sample_coco_128x96.py
_base_ = ['./rtmpose_t_sample_coco_128x96.py']

train_cfg = dict(max_epochs=120, val_interval=30)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=250, start_factor=1e-3, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        eta_min=2e-4,
        begin=60,
        end=120,
        T_max=60,
        by_epoch=True,
        convert_to_iter_based=True)
]
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=30))
