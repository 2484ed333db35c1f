"""Deployment: BN folding, ONNX export and its check, ONNX Runtime
inference, detection-file boxes, timing on a runtime, and models built from
a checkpoint."""
from .boxes import DetectionFileBoxes
from .export import (
    OnnxRuntimeNetwork,
    compare_outputs,
    export_onnx,
    prepare_for_export,
    use_onnxruntime,
)
from .fusion import fuse_conv_bn
from .loading import load_pose_model
from .timing import RUNTIMES, make_runner, time_runner

__all__ = [
    'DetectionFileBoxes', 'OnnxRuntimeNetwork', 'compare_outputs',
    'export_onnx', 'prepare_for_export', 'load_pose_model', 'use_onnxruntime',
    'fuse_conv_bn', 'RUNTIMES', 'make_runner', 'time_runner'
]
