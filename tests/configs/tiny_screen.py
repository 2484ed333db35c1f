# The tiny network trained for one epoch and tested on the workspace's
# data/sample_coco_search400: what the rerank test's search trains each
# shortlisted candidate with.
_base_ = ['./tiny_coco.py']

train_cfg = dict(max_epochs=1, val_interval=1)
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
