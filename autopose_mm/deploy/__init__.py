"""Deployment: BN folding, ONNX and OpenVINO export with lean graphs and
their check, inference on ONNX Runtime or OpenVINO, detection-file boxes,
timing on a runtime, and models built from a checkpoint."""
from .boxes import DetectionFileBoxes
from .export import export_onnx, export_openvino, prepare_for_export
from .fusion import fuse_conv_bn
from .graph import DEFAULT_PASSES, GRAPH_PASSES, apply_passes
from .loading import load_pose_model
from .runtimes import (
    EXPORTED_RUNTIMES,
    PRECISIONS,
    OnnxRuntimeNetwork,
    OpenVINONetwork,
    compare_outputs,
    load_network,
    use_exported,
)
from .timing import RUNTIMES, make_runner, time_rounds, time_runner

__all__ = [
    'DetectionFileBoxes', 'export_onnx', 'export_openvino',
    'prepare_for_export', 'fuse_conv_bn', 'DEFAULT_PASSES', 'GRAPH_PASSES',
    'apply_passes', 'load_pose_model', 'EXPORTED_RUNTIMES', 'PRECISIONS',
    'OnnxRuntimeNetwork', 'OpenVINONetwork', 'compare_outputs', 'load_network',
    'use_exported', 'RUNTIMES', 'make_runner', 'time_runner', 'time_rounds'
]
