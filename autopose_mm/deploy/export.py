"""ONNX export of a pose model's network (image to heatmaps), with BN folded,
and its check against PyTorch.

The exported graph takes the normalised image batch (what MMPose's data
preprocessor hands the model: RGB, mean and std applied), named ``input``,
and returns the head's outputs: ``heatmaps`` for a heatmap head, one
``heatmaps_<stage>`` per stage for a multi-stage head, ``simcc_x`` /
``simcc_y`` for RTMPose's SimCC head. Cropping, flipping and decoding stay
outside, as in MMPose's own pipeline, so any runtime can run the file.
"""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..utils.io import atomic_path
from .fusion import fuse_conv_bn

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
                       fold_bn: bool = True) -> nn.Module:
    """An eval-mode copy of ``estimator`` with BN folded into the
    convolutions (AutoPose's ReLU-conv-BN and the stem; other models'
    conv-BN pairs in ``nn.Sequential``)."""
    model = copy.deepcopy(estimator).eval()
    if fold_bn:
        fuse_conv_bn(model)
    return model


def export_onnx(estimator: nn.Module,
                out_file: str,
                input_shape: Sequence[int],
                opset: int = 17,
                dynamic_batch: bool = False,
                fold_bn: bool = True) -> List[str]:
    """Export ``estimator``'s network to ``out_file`` (written atomically)
    and check it with ``onnx.checker``.

    Args:
        estimator (nn.Module): An MMPose pose estimator (``_forward``).
        out_file (str): The ``.onnx`` file to write.
        input_shape (Sequence[int]): ``(H, W)`` of the network input.
        opset (int): ONNX opset. Defaults to 17.
        dynamic_batch (bool): Make the batch dimension dynamic.
        fold_bn (bool): Fold BN into the convolutions first.

    Returns:
        list[str]: The output names.
    """
    import onnx
    model = prepare_for_export(estimator, fold_bn)
    h, w = input_shape
    example = torch.randn(1, 3, h, w)
    names = output_names(model, example)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {n: {0: 'batch'} for n in ['input'] + names}
    with atomic_path(out_file, suffix='.onnx') as tmp:
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
        proto = onnx.load(tmp)
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


class OnnxRuntimeNetwork:
    """Runs an exported network with ONNX Runtime on the CPU.

    Args:
        onnx_file (str): A file written by :func:`export_onnx`.
        threads (int, optional): Intra-op threads (default: ONNX Runtime's).
    """

    def __init__(self, onnx_file: str, threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX file {onnx_file!r} does not exist; '
                                    f'export one with '
                                    f'tools/deployment/pytorch2onnx.py')
        import onnx
        try:
            proto = onnx.load(onnx_file)
        except Exception as e:
            raise ValueError(
                f'{onnx_file!r} is not an ONNX file ({type(e).__name__}); '
                f'export one with tools/deployment/pytorch2onnx.py') from None
        check_finite_initializers(proto, onnx_file)
        del proto
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.nested = META_OUTPUTS in meta and not (self.output_names
                                                    == ['heatmaps'])

        shape = self.session.get_inputs()[0].shape
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.input_hw = tuple(shape[2:4])

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        """The outputs for a float32 batch ``x`` (N, 3, H, W). A file
        exported with a fixed batch of 1 runs the images one by one."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if tuple(x.shape[2:]) != self.input_hw:
            raise ValueError(
                f'the ONNX file takes {self.input_hw[0]}x{self.input_hw[1]} '
                f'inputs, got {x.shape[2]}x{x.shape[3]}: export it again '
                f'with --shape {x.shape[2]} {x.shape[3]}')
        if self.fixed_batch is None or self.fixed_batch == x.shape[0]:
            return self.session.run(None, {'input': x})
        if self.fixed_batch != 1:
            raise ValueError(
                f'the ONNX file takes batches of {self.fixed_batch}, got '
                f'{x.shape[0]}: export it with --dynamic-batch')
        parts = [
            self.session.run(None, {'input': x[i:i + 1]})
            for i in range(x.shape[0])
        ]
        return [np.concatenate(outs) for outs in zip(*parts)]

    def __call__(self, x: Tensor):
        """Like ``estimator._forward``: a tensor, or a tuple of them."""
        outs = [torch.from_numpy(o) for o in self.run(x.cpu().numpy())]
        return tuple(outs) if self.nested else outs[0]


def compare_outputs(estimator: nn.Module,
                    onnx_file: str,
                    input_shape: Sequence[int],
                    batch: int = 2,
                    seed: int = 0) -> Dict[str, float]:
    """Run PyTorch (eval, BN not folded) and ONNX Runtime on the same random
    normalised images and compare.

    Returns:
        dict: ``max_abs_diff`` over all outputs, ``heatmap_range`` (max -
        min of the PyTorch outputs), ``relative`` (their ratio) and, for
        heatmap outputs, ``max_keypoint_px``: the largest distance between
        the keypoints decoded from both (arg-max with MMPose's sub-pixel
        refinement), in input-image pixels.
    """
    from mmpose.codecs.utils import get_heatmap_maximum, refine_keypoints
    h, w = input_shape
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, h, w, generator=generator)
    model = copy.deepcopy(estimator).eval()
    with torch.no_grad():
        ref = HeadOutputs(model)(x)
    got = OnnxRuntimeNetwork(onnx_file).run(x.numpy())
    ref_np = [r.numpy() for r in ref]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ref_np, got))
    span = max(float(a.max() - a.min()) for a in ref_np)
    result = dict(
        max_abs_diff=diff,
        heatmap_range=span,
        relative=diff / max(span, 1e-12))
    if ref_np[-1].ndim == 4:  # heatmaps: decode the last stage
        worst, scale = 0., w / ref_np[-1].shape[-1]  # to input pixels
        for a, b in zip(ref_np[-1], got[-1]):
            ka, _ = get_heatmap_maximum(a)
            kb, _ = get_heatmap_maximum(b)
            ka = refine_keypoints(ka[None], a)[0]
            kb = refine_keypoints(kb[None], b)[0]
            worst = max(worst, float(np.linalg.norm(ka - kb, axis=-1).max()))
        result['max_keypoint_px'] = worst * scale
    return result


def use_onnxruntime(estimator: nn.Module, onnx_file: str) -> nn.Module:
    """Make ``estimator`` compute its network with ONNX Runtime.

    MMPose's estimator calls ``extract_feat`` on the preprocessed images
    (and on the flipped ones for flip test), then ``head.forward`` inside
    ``head.predict``. Here ``extract_feat`` passes the images through and
    ``head.forward`` runs the exported file, so the data preprocessor,
    flip test and the codec's decoding stay MMPose's own, and
    ``MMPoseInferencer`` and ``Runner.test`` work unchanged.

    Returns:
        nn.Module: ``estimator``, in eval mode.
    """
    network = OnnxRuntimeNetwork(onnx_file)
    estimator.extract_feat = lambda inputs: inputs
    estimator.head.forward = network
    estimator.onnx_file = onnx_file
    return estimator.eval()
