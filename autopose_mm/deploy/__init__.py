"""Deployment: ONNX export and its check, ONNX Runtime inference, and
models built from a checkpoint for both."""
from .boxes import DetectionFileBoxes
from .export import (
    OnnxRuntimeNetwork,
    compare_outputs,
    export_onnx,
    prepare_for_export,
    use_onnxruntime,
)
from .loading import load_pose_model

__all__ = [
    'DetectionFileBoxes', 'OnnxRuntimeNetwork', 'compare_outputs',
    'export_onnx', 'prepare_for_export', 'load_pose_model', 'use_onnxruntime'
]
