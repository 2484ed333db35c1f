# The tiny bi-level search, killed in the middle of its third epoch.
_base_ = [
    '../../configs/autopose/demo/bilevel_search_tiny_sample_coco_64x48.py'
]
custom_imports = dict(imports=['autopose_mm', 'search_test_hooks'])
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='GenotypeExportHook'),
    dict(type='KillAtIterHook', epoch=2, batch_idx=1)
]
