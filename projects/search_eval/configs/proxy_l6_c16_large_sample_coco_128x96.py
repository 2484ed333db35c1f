# The proxy of configs/autopose/demo/proxy_l6_c16_sample_coco_128x96.py
# on a larger generated regime: 1200 training images (6x the sample data's
# 200, another seed of the same generator) for 5 epochs, so the same number
# of optimizer steps (about 750 at batch 16), tested on 1200 generated
# images instead of 400. tools/space_spread.py --config with it measures
# whether more data makes two trainings of the same networks agree more.
_base_ = ['../../../configs/autopose/demo/proxy_l6_c16_sample_coco_128x96.py']

train_root = 'data/sample_coco_train1200/'
train_dataloader = dict(dataset=dict(data_root=train_root))
eval_root = 'data/sample_coco_val1200/'
val_dataloader = dict(
    dataset=dict(
        data_root=eval_root,
        bbox_file=eval_root + 'person_detection_results/'
        'detections_val2017.json'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=eval_root +
                     'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=5, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=5,
        milestones=[4],
        gamma=0.1,
        by_epoch=True)
]
default_hooks = dict(checkpoint=dict(interval=5))
