# The study of study_l6_c16_sample_coco_128x96.py with the rungs that the
# signal survey chose (the lab's tools/rung_signals.py, measured in its
# docs/log.md): after 1 or 2 epochs neither the test AP nor the
# training loss ranked candidates, and the training loss ranked them against
# their full training at no rung, so the first rung is at 4 epochs and every
# rung is judged by the test AP (rungs 4 and 8, half kept at 4).
# From the repository's root:
#   LAB=projects/search_eval
#   python $LAB/tools/study_vs_random.py --profile cpu \
#       --config $LAB/configs/study_r4_l6_c16_sample_coco_128x96.py
_base_ = ['../../../configs/autopose/demo/study_l6_c16_sample_coco_128x96.py']

study = dict(min_epochs=4, rung_signal='metric')
