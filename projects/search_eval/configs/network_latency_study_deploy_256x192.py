# The space of the product's latency-range study
# (network_latency_study_sample_coco_128x96.py) for latency tables of the
# deployed network at 256x192 instead of the trial's 128x96. The study
# predicts the latency of the network it trains and refuses tables of
# another input size, so these tables check the study's front at the
# deployed size: build them (per width C in 8 12 16 24), then measure
# each front network against the table of its width:
#   python tools/analysis/latency_table.py --config THIS --channels C \
#       --runtime openvino --threads 2 --input-size 256 192 \
#       --out work_dirs/latency/network_openvino_cC_256x192.json
#   python tools/analysis/latency_table.py \
#       --out work_dirs/latency/network_openvino_cC_256x192.json \
#       --measure WORK_DIR/front/NAME.json
_base_ = [
    '../../../configs/autopose/demo/network_latency_study_sample_coco_128x96.py'
]

study = dict(name='deploy')
