# The product's latency-range study (network_latency_study_sample_coco_128x96
# .py) with the latency of the deployed network at 256x192 instead of the
# trial's 128x96: networks of 3-15 ms, whose measurements on a shared
# 2-core machine spread less, relative to their time, than those of 1 ms.
# The tables, built first (per width C in 8 12 16 24):
#   python tools/analysis/latency_table.py --config THIS --channels C \
#       --runtime openvino --threads 2 --input-size 256 192 \
#       --out work_dirs/latency/network_openvino_cC_256x192.json
_base_ = [
    '../../../configs/autopose/demo/network_latency_study_sample_coco_128x96.py'
]

study = dict(
    name='deploy',
    latency_table={
        c: f'work_dirs/latency/network_openvino_c{c}_256x192.json'
        for c in (8, 12, 16, 24)
    },
    cost_range=[2.4, 12.0])
