# The whole-network study of network_study_sample_coco_128x96.py aimed at
# a device: the cost is the batch-1 latency (ms) that this machine's
# latency tables predict, one table per width, built here first:
#
#   CFG=configs/autopose/demo/network_latency_study_sample_coco_128x96.py
#   for C in 8 12 16 24; do
#     python tools/analysis/latency_table.py --config $CFG --channels $C \
#       --runtime openvino --threads 2 \
#       --out work_dirs/latency/network_openvino_c${C}_128x96.json
#   done
#   python tools/search.py $CFG --workers 2
#
# One stage only: a table holds the first stage's blocks. The front's
# networks are measured on the tables' runtime when the search ends
# (measured_ms beside the predicted cost in pareto.json).
_base_ = ['./network_study_sample_coco_128x96.py']

study = dict(
    name='latency',
    space=dict(stages=[1]),
    latency_table={
        c: f'work_dirs/latency/network_openvino_c{c}_128x96.json'
        for c in (8, 12, 16, 24)
    },
    cost_range=[0.6, 3.0])
