# The product's latency-range study
# (network_latency_study_sample_coco_128x96.py) aimed at the deployed
# input size: the trials train at 128x96 on the sample data, the cost is
# the latency at 256x192 that this machine's tables of that size predict
# (one per width), and the front is measured at 256x192. Build the
# tables, then run the study:
#
#   for C in 8 12 16 24; do
#     python tools/analysis/latency_table.py --config THIS --channels $C \
#       --runtime openvino --threads 2 --input-size 256 192 \
#       --out work_dirs/latency/network_openvino_c${C}_256x192.json
#   done
#   python tools/search.py THIS --workers 2
_base_ = [
    '../../../configs/autopose/demo/network_latency_study_sample_coco_128x96.py'
]

study = dict(
    name='deploy',
    deploy_input_size=[256, 192],
    latency_table={
        c: f'work_dirs/latency/network_openvino_c{c}_256x192.json'
        for c in (8, 12, 16, 24)
    },
    cost_range=[2.0, 10.0])
