# A latency-budget search on the built-in sample data: the tiny bi-level
# search with a wider network level (4 to 18 cells, at most 8 per scale)
# and a budget in milliseconds, predicted by a latency lookup table of the
# deployed network (C=32 at 256x192, ONNX Runtime, 1 thread) built on the
# machine that will run it:
#   python tools/analysis/latency_table.py --config THIS_CONFIG \
#       --channels 32 --input-size 256 192
#   python tools/train.py THIS_CONFIG --cfg-options \
#       train_cfg.latency_target=20
# The genotype file records the target, the predicted latency and the table.
_base_ = ['./bilevel_search_tiny_sample_coco_64x48.py']

model = dict(backbone=dict(num_cells=list(range(4, 19)), max_cells=8))
train_cfg = dict(
    max_epochs=10,
    warmup_epochs=2,
    controller_steps=4,
    latency_target=20.,
    latency_table='work_dirs/latency/onnxruntime_c32_256x192.json',
    latency_weight=3.0)
