"""ONNX and OpenVINO export of a pose model's network (image to heatmaps),
with BN folded and the graph made lean (``graph.DEFAULT_PASSES``).

The exported graph takes the normalised image batch (what MMPose's data
preprocessor hands the model: RGB, mean and std applied), named ``input``,
and returns the head's outputs: ``heatmaps`` for a heatmap head, one
``heatmaps_<stage>`` per stage for a multi-stage head, ``simcc_x`` /
``simcc_y`` for RTMPose's SimCC head. Cropping, flipping and decoding stay
outside, as in MMPose's own pipeline, so any runtime can run the file.
"""
import copy
import os
import os.path as osp
import tempfile
from typing import List, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..utils.extras import require
from ..utils.io import atomic_path, named_disk_errors
from .fusion import fuse_conv_bn, reduce_as_one_conv
from .graph import DEFAULT_PASSES, apply_passes, check_passes

META_OUTPUTS = 'autopose.outputs'  # ONNX metadata: how to rebuild the head


class HeadOutputs(nn.Module):
    """The estimator's network as a module that returns a flat tuple of
    tensors (ONNX outputs cannot be nested)."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        out = self.estimator._forward(x)
        return tuple(out) if isinstance(out, (list, tuple)) else (out, )


def output_names(estimator: nn.Module, example: Tensor) -> List[str]:
    """Names of the flattened outputs of ``estimator._forward``."""
    with torch.no_grad():
        out = estimator._forward(example)
    if not isinstance(out, (list, tuple)):
        return ['heatmaps']
    if type(estimator.head).__name__ == 'RTMCCHead':
        return ['simcc_x', 'simcc_y']
    return [f'heatmaps_{i}' for i in range(len(out))]


def prepare_for_export(estimator: nn.Module,
                       fold_bn: bool = True,
                       passes: Sequence[str] = ()) -> nn.Module:
    """An eval-mode copy of ``estimator`` with BN folded into the
    convolutions (AutoPose's ReLU-conv-BN and the stem; other models'
    conv-BN pairs in ``nn.Sequential``), and, with ``'strided_reduce'`` in
    ``passes``, the factorized reductions as one convolution each."""
    model = copy.deepcopy(estimator).eval()
    if fold_bn:
        fuse_conv_bn(model)
        if 'strided_reduce' in passes:
            reduce_as_one_conv(model)
    return model


def export_onnx(estimator: nn.Module,
                out_file: str,
                input_shape: Sequence[int],
                opset: int = 17,
                dynamic_batch: bool = False,
                fold_bn: bool = True,
                passes: Sequence[str] = DEFAULT_PASSES) -> List[str]:
    """Export ``estimator``'s network to ``out_file`` (written atomically)
    and check it with ``onnx.checker``.

    Args:
        estimator (nn.Module): An MMPose pose estimator (``_forward``).
        out_file (str): The ``.onnx`` file to write.
        input_shape (Sequence[int]): ``(H, W)`` of the network input.
        opset (int): ONNX opset. Defaults to 17.
        dynamic_batch (bool): Make the batch dimension dynamic.
        fold_bn (bool): Fold BN into the convolutions first.
        passes (Sequence[str]): Graph rewrites (``graph.GRAPH_PASSES``)
            applied to the exported graph; ``()`` keeps it as PyTorch
            exports it.

    Returns:
        list[str]: The output names.
    """
    onnx = require('onnx')
    check_passes(passes)
    model = prepare_for_export(estimator, fold_bn, passes)
    h, w = input_shape
    example = torch.randn(1, 3, h, w)
    names = output_names(model, example)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {n: {0: 'batch'} for n in ['input'] + names}
    with named_disk_errors(out_file), \
            atomic_path(out_file, suffix='.onnx') as tmp:
        with torch.no_grad():
            torch.onnx.export(
                HeadOutputs(model), (example, ),
                tmp,
                input_names=['input'],
                output_names=names,
                opset_version=opset,
                dynamic_axes=dynamic_axes,
                do_constant_folding=True,
                dynamo=False)
        proto = apply_passes(onnx.load(tmp), passes)
        onnx.checker.check_model(proto)
        check_finite_initializers(proto, out_file)
        entry = proto.metadata_props.add()
        entry.key, entry.value = META_OUTPUTS, ','.join(names)
        onnx.save(proto, tmp)
    return names


def check_finite_initializers(proto, where: str) -> None:
    """Refuse an ONNX graph whose weights hold NaN or infinite values.

    Raises:
        FloatingPointError: Names the file and the first initializers.
    """
    from onnx import numpy_helper
    bad = []
    for init in proto.graph.initializer:
        value = numpy_helper.to_array(init)
        if value.dtype.kind == 'f' and not np.isfinite(value).all():
            bad.append(init.name)
    if bad:
        raise FloatingPointError(
            f'ONNX file {where}: {len(bad)} weights hold NaN or infinite '
            f'values (first: {", ".join(bad[:3])}); its outputs would be '
            f'meaningless. Export it again from a good checkpoint')


def export_openvino(onnx_file: str, out_file: str) -> None:
    """Convert an exported ONNX file to OpenVINO's IR: ``out_file``
    (``.xml``) and the ``.bin`` beside it, both written atomically, the
    weights kept in f32.

    Args:
        onnx_file (str): A file written by :func:`export_onnx`.
        out_file (str): The ``.xml`` file to write.
    """
    onnx = require('onnx')
    ov = require('openvino')
    if not out_file.endswith('.xml'):
        raise ValueError(f'OpenVINO model {out_file!r} must end with .xml')
    model = ov.convert_model(onnx_file)
    meta = {p.key: p.value for p in onnx.load(onnx_file).metadata_props}
    if META_OUTPUTS in meta:
        model.set_rt_info(meta[META_OUTPUTS], META_OUTPUTS)
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    stem = osp.splitext(out_file)[0]
    with named_disk_errors(out_file), \
            tempfile.TemporaryDirectory(dir=folder) as tmp:
        xml = osp.join(tmp, 'model.xml')
        ov.save_model(model, xml, compress_to_fp16=False)
        os.replace(osp.join(tmp, 'model.bin'), stem + '.bin')
        os.replace(xml, out_file)
