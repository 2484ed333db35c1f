# The tiny bi-level search with a hook that saves each rank's state.
_base_ = [
    '../../configs/autopose/demo/bilevel_search_tiny_sample_coco_64x48.py'
]
custom_imports = dict(imports=['autopose_mm', 'search_test_hooks'])
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='GenotypeExportHook'),
    dict(type='DumpRankSearchHook')
]
train_cfg = dict(max_epochs=3, warmup_epochs=1)
