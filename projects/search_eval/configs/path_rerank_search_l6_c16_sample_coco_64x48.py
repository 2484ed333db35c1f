# Single-path search whose supernet only shortlists: 4 epochs of supernet
# training (path_search_l6_c16_sample_coco_64x48.py trains 16), 32 random
# genotypes of equal cost scored by it, and the 8 best scored trained
# briefly as proxy networks (proxy_screen_l6_c16_sample_coco_128x96.py, two
# at a time); the one with the best AP on the screen's own 400 test images
# is written as genotype.json. path_search.json lists every candidate's cost
# and supernet score, and each shortlisted one's trained metrics.
#
# Why: on this data the supernet's score ranks architectures barely better
# than chance, while a short training ranks them well (Kendall's tau of
# both against trained AP: the lab's docs/log.md).
_base_ = [
    '../../../configs/autopose/demo/path_search_l6_c16_sample_coco_64x48.py'
]

train_cfg = dict(
    max_epochs=4,
    num_candidates=32,
    score_batches=4,
    rerank=dict(
        config='configs/autopose/demo/'
        'proxy_screen_l6_c16_sample_coco_128x96.py',
        top=8,
        jobs=2))
