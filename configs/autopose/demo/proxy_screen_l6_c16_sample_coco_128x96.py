# A short training of the proxy network (proxy_l6_c16_sample_coco_128x96.py)
# that a search uses to compare shortlisted cells: 8 epochs instead of 30,
# the learning rate dropping tenfold after the 6th, tested on 400 generated
# images of their own (data/sample_coco_search400, another generator seed),
# so a search never sees the test set of the comparison that judges it.
# How well this short training ranks genotypes against their full trainings:
# the lab's docs/log.md in projects/search_eval ("How well a short training
# ranks").
_base_ = ['./proxy_l6_c16_sample_coco_128x96.py']

train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=8,
        milestones=[6],
        gamma=0.1,
        by_epoch=True)
]
default_hooks = dict(checkpoint=dict(interval=8))
screen_root = 'data/sample_coco_search400/'
val_dataloader = dict(
    dataset=dict(
        data_root=screen_root,
        bbox_file=screen_root + 'person_detection_results/'
        'detections_val2017.json'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=screen_root +
                     'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
