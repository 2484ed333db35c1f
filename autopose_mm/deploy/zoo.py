"""The networks the benchmark measures: AutoPose's presets (stage 1 and
both stages), MMPose's HRNet-W32, Lite-HRNet-18 and RTMPose-t/s/m, and the
search supernets, each built from its config as the benchmark and the
graph-pass measurement build it."""
import os.path as osp
from typing import Dict, List, Optional

import mmpose
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))

__all__ = [
    'ROWS', 'SEARCH', 'REFERENCE', 'LATENCY_REFERENCE', 'TRAINING_ROWS',
    'LATENCY_ROWS', 'BACKEND_NAMES', 'config_path', 'build_model'
]

MMPOSE_COCO = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/'

# row name -> (config, overrides, search iterations): False for a fixed
# network; for a supernet, whether each iteration of one timed call makes
# an alpha step: (True, ) the search step, (False, ) the weight step alone,
# (True, False) a search with train_cfg.arch_interval=2
SEARCH = (True, )
ROWS: Dict[str, tuple] = {
    'AutoPose-L12-C32': ('configs/autopose/l12_c32_coco_256x192.py', 'stage1',
                         False),
    'AutoPose-L12-C32 2-stage': ('configs/autopose/l12_c32_coco_256x192.py',
                                 None, False),
    'AutoPose-L18-C48': ('configs/autopose/l18_c48_coco_256x192.py', 'stage1',
                         False),
    'AutoPose-L18-C48 2-stage': ('configs/autopose/l18_c48_coco_256x192.py',
                                 None, False),
    'AutoPose-L18-C64': ('configs/autopose/l18_c64_coco_256x192.py', 'stage1',
                         False),
    'AutoPose-L18-C64 2-stage': ('configs/autopose/l18_c64_coco_256x192.py',
                                 None, False),
    'HRNet-W32': (MMPOSE_COCO + 'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
                  None, False),
    'Lite-HRNet-18':
    (MMPOSE_COCO + 'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py', None,
     False),
    'Cell-search supernet L12-C32 K=4':
    ('configs/autopose/search/search_l12_c32_coco_256x192.py', None, SEARCH),
    'Cell-search supernet L12-C32 K=4 weight step':
    ('configs/autopose/search/search_l12_c32_coco_256x192.py', None,
     (False, )),
    'Cell-search supernet L12-C32 K=4 alpha every 2nd step':
    ('configs/autopose/search/search_l12_c32_coco_256x192.py', None, (True,
                                                                      False)),
    'Bi-level supernet C32 L=12 K=4':
    ('configs/autopose/search/bilevel_search_c32_coco_256x192.py', None,
     SEARCH),
}
REFERENCE = 'HRNet-W32'
LATENCY_REFERENCE = 'RTMPose-s'
MMPOSE_RTMPOSE = 'mmpose::body_2d_keypoint/rtmpose/coco/'
for _size in 'tsm':
    ROWS[f'RTMPose-{_size}'] = (MMPOSE_RTMPOSE +
                                f'rtmpose-{_size}_8xb256-420e_coco-256x192.py',
                                None, False)
# by default every row but RTMPose's and the search step's variants
TRAINING_ROWS = [
    n for n in ROWS
    if not n.startswith('RTMPose') and ROWS[n][2] in (False, SEARCH)
]
LATENCY_ROWS = [n for n in ROWS if not ROWS[n][2]]

# how the tables name each runtime a row is timed on
BACKEND_NAMES = {
    'eager': 'PyTorch',
    'fused': 'PyTorch BN folded',
    'onnxruntime': 'ONNX Runtime',
    'openvino': 'OpenVINO',
    'onnxruntime-plain': 'ONNX Runtime, plain graph',
    'openvino-plain': 'OpenVINO, plain graph',
    'openvino-bf16': 'OpenVINO bf16',
    'openvino-int8': 'OpenVINO int8',
}


def config_path(name: str) -> str:
    """The config file of a row."""
    path = ROWS[name][0]
    if path.startswith('mmpose::'):  # a config shipped inside mmpose
        return osp.join(
            osp.dirname(mmpose.__file__), '.mim', 'configs',
            path[len('mmpose::'):])
    for root in (osp.dirname(PACKAGE), osp.join(PACKAGE, '.mim')):
        if osp.isfile(osp.join(root, path)):  # a checkout, or installed
            return osp.join(root, path)
    raise FileNotFoundError(
        f'{path} (benchmark row {name!r}) is neither in this checkout nor '
        f'installed with the package')


def build_model(name: str, shape: Optional[List[int]] = None):
    """Build a row's model from its config, with ``init_cfg=None``; for
    another input ``shape`` (H, W) than RTMPose's 256x192, its SimCC head is
    sized for that input. The package must be imported (its modules
    registered)."""
    variant = ROWS[name][1]
    cfg = Config.fromfile(config_path(name))
    init_default_scope('mmpose')
    model_cfg = cfg.model
    model_cfg.backbone.init_cfg = None
    if model_cfg.head.type == 'RTMCCHead' and shape is not None:
        h, w = shape
        model_cfg.head.input_size = (w, h)
        model_cfg.head.in_featuremap_size = (w // 32, h // 32)
    if variant == 'stage1':
        model_cfg.neck.num_stages = 1
        head = dict(model_cfg.head)
        head.pop('num_stages')
        model_cfg.head = dict(head, type='HeatmapHead')
    return MODELS.build(model_cfg)
