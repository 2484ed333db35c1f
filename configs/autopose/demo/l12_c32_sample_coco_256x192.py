# AutoPose-L12-C32 (256x192) on the built-in synthetic sample data: the real
# COCO config with only the data and the schedule overridden.
#   python tools/misc/generate_sample_data.py --out data/sample_coco
#   python tools/train.py configs/autopose/demo/l12_c32_sample_coco_256x192.py
_base_ = ['../l12_c32_coco_256x192.py']

data_root = 'data/sample_coco/'
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        bbox_file=data_root + 'person_detection_results/'
        'detections_val2017.json'))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

# a short schedule
train_cfg = dict(max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=12, milestones=[9], gamma=0.1,
         by_epoch=True)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=12, save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
