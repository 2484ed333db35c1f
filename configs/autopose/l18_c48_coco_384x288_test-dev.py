# AutoPose-L18-C48 on COCO test-dev2017 at 384x288: writes the keypoint
# results for the evaluation server (no local metric; labels are private).
_base_ = ['./l18_c48_coco_384x288.py']

test_dataloader = dict(
    dataset=dict(
        type='CocoDataset',
        data_root='data/coco/',
        data_mode='topdown',
        ann_file='annotations/image_info_test-dev2017.json',
        bbox_file='data/coco/person_detection_results/'
        'COCO_test-dev2017_detections_AP_H_609_person.json',
        data_prefix=dict(img='images/test2017/'),
        test_mode=True))
test_evaluator = dict(
    type='CocoMetric',
    ann_file='data/coco/annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/l18_c48_coco_384x288_test-dev/results')
