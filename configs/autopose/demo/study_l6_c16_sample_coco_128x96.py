# The study-based search on the built-in sample data (tools/search.py): every
# candidate is the proxy network (6 cells, 16 channels, 128x96) built from a
# genotype of the cell space and trained with the short schedule of
# proxy_screen_l6_c16_sample_coco_128x96.py (8 epochs, tested on the search's
# own 400 images). A trial is tested after 1, 2, 4 and 8 epochs; successive
# halving keeps the best half at each rung. The study may spend 64 training
# epochs per cost target (eight full trainings' worth), and random search
# given the same epochs is its baseline (projects/search_eval has the tool and
# the measurements). tools/demo.py runs it with 16 epochs per target.
_base_ = ['./proxy_screen_l6_c16_sample_coco_128x96.py']

study = dict(
    sampler='tpe',
    pruner='halving',
    min_epochs=1,
    reduction_factor=2,
    budget_epochs=64,
    tolerance=0.1)
