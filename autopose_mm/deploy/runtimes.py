"""Running an exported network on a CPU runtime: ONNX Runtime or OpenVINO.

Both take the file :func:`~autopose_mm.deploy.export.export_onnx` writes
(OpenVINO also its own IR, ``.xml`` + ``.bin``, from
:func:`~autopose_mm.deploy.export.export_openvino`) and behave alike: a
float32 batch in, the head's outputs out, so the rest of MMPose's pipeline
(flip test, decoding, evaluation, drawing) does not know which one ran.

OpenVINO's CPU plugin computes in bf16 by default on CPUs with AMX or
AVX-512 BF16; here it runs in f32 unless ``precision='bf16'`` is asked
for, and :attr:`OpenVINONetwork.precision` says what the compiled model
really uses.
"""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..utils.extras import require
from .export import META_OUTPUTS, HeadOutputs, check_finite_initializers

EXPORTED_RUNTIMES = ('onnxruntime', 'openvino')
PRECISIONS = ('f32', 'bf16')
EXPORT_HINT = 'export one with tools/deployment/pytorch2onnx.py'


class ExportedNetwork:
    """An exported network on a runtime: shape checks and batching shared
    by the runtimes, which implement :meth:`_infer` (one batch) and set
    ``output_names``, ``input_hw``, ``fixed_batch`` and ``nested``."""

    output_names: List[str]
    input_hw: tuple
    fixed_batch: Optional[int]
    nested: bool

    def _infer(self, x: np.ndarray) -> List[np.ndarray]:
        raise NotImplementedError

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        """The outputs for a float32 batch ``x`` (N, 3, H, W). A file
        exported with a fixed batch of 1 runs the images one by one."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if tuple(x.shape[2:]) != self.input_hw:
            raise ValueError(
                f'the exported file takes {self.input_hw[0]}x'
                f'{self.input_hw[1]} inputs, got {x.shape[2]}x{x.shape[3]}: '
                f'export it again with --shape {x.shape[2]} {x.shape[3]}')
        if self.fixed_batch is None or self.fixed_batch == x.shape[0]:
            return self._infer(x)
        if self.fixed_batch != 1:
            raise ValueError(
                f'the exported file takes batches of {self.fixed_batch}, got '
                f'{x.shape[0]}: export it with --dynamic-batch')
        parts = [self._infer(x[i:i + 1]) for i in range(x.shape[0])]
        return [np.concatenate(outs) for outs in zip(*parts)]

    def __call__(self, x: Tensor):
        """Like ``estimator._forward``: a tensor, or a tuple of them."""
        outs = [torch.from_numpy(o) for o in self.run(x.cpu().numpy())]
        return tuple(outs) if self.nested else outs[0]


def _load_onnx_checked(onnx_file: str):
    """The ONNX proto of ``onnx_file``, refused with a clear message when
    missing, unreadable or holding non-finite weights."""
    onnx = require('onnx')
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(
            f'exported file {onnx_file!r} does not exist; {EXPORT_HINT}')
    try:
        proto = onnx.load(onnx_file)
    except Exception as e:
        raise ValueError(f'{onnx_file!r} is not an ONNX file '
                         f'({type(e).__name__}); {EXPORT_HINT}') from None
    check_finite_initializers(proto, onnx_file)
    return proto


class OnnxRuntimeNetwork(ExportedNetwork):
    """Runs an exported network with ONNX Runtime on the CPU.

    Args:
        onnx_file (str): A file written by ``export_onnx``.
        threads (int, optional): Intra-op threads (default: ONNX Runtime's).
        profile (str, optional): Write ONNX Runtime's profile with this
            file-name prefix (see :meth:`end_profiling`).
    """

    runtime = 'onnxruntime'
    precision = 'f32'

    def __init__(self,
                 onnx_file: str,
                 threads: Optional[int] = None,
                 profile: Optional[str] = None) -> None:
        ort = require('onnxruntime')
        _load_onnx_checked(onnx_file)  # refuses a missing or bad file
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        if profile:
            options.enable_profiling = True
            options.profile_file_prefix = profile
        self.session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.nested = META_OUTPUTS in meta and not (self.output_names
                                                    == ['heatmaps'])
        shape = self.session.get_inputs()[0].shape
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.input_hw = tuple(shape[2:4])

    def _infer(self, x: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {'input': x})

    def end_profiling(self) -> str:
        """Stop profiling; returns the profile's JSON file."""
        return self.session.end_profiling()


def openvino_core():
    """OpenVINO's ``Core``, or a clear error where it cannot run here."""
    try:
        ov = require('openvino')
    except ImportError as e:
        raise RuntimeError(
            f'OpenVINO is not installed ({e}); run bash tools/setup_env.sh, '
            f'which installs the pinned openvino, or choose the onnxruntime '
            f'runtime') from None
    core = ov.Core()
    if 'CPU' not in core.available_devices:
        raise RuntimeError(
            f'OpenVINO finds no CPU device on this machine (devices: '
            f'{core.available_devices or "none"}); its CPU plugin needs an '
            f'x86-64 CPU with SSE4.2 or an ARM64 CPU. Choose the onnxruntime '
            f'runtime instead')
    return core


def openvino_supports_bf16() -> bool:
    """Whether OpenVINO's CPU plugin computes bf16 natively here (AMX or
    AVX-512 BF16)."""
    return 'BF16' in openvino_core().get_property('CPU',
                                                  'OPTIMIZATION_CAPABILITIES')


def openvino_config(threads: Optional[int], precision: str) -> Dict:
    """The CPU plugin's settings: the inference precision always explicit
    (its default is bf16 on CPUs that have it), one stream for latency."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision {precision!r}: choose one of '
                         f'{", ".join(PRECISIONS)}')
    if precision == 'bf16' and not openvino_supports_bf16():
        raise RuntimeError(
            'precision bf16: this CPU has neither AMX nor AVX-512 BF16, so '
            "OpenVINO's CPU plugin cannot compute in bf16 here; use f32")
    config = {
        'INFERENCE_PRECISION_HINT': precision,
        'PERFORMANCE_HINT': 'LATENCY',
        'NUM_STREAMS': '1',
    }
    if threads:
        config['INFERENCE_NUM_THREADS'] = str(threads)
    return config


def check_finite_constants(model, where: str) -> None:
    """Refuse an OpenVINO model whose constants hold NaN or infinite
    values.

    Raises:
        FloatingPointError: Names the file and the first constants.
    """
    bad = []
    for op in model.get_ops():
        if op.get_type_name() != 'Constant':
            continue
        value = op.get_data()
        if value.dtype.kind == 'f' and not np.isfinite(value).all():
            bad.append(op.get_friendly_name())
    if bad:
        raise FloatingPointError(
            f'OpenVINO model {where}: {len(bad)} weights hold NaN or '
            f'infinite values (first: {", ".join(bad[:3])}); its outputs '
            f'would be meaningless. Export it again from a good checkpoint')


class OpenVINONetwork(ExportedNetwork):
    """Runs an exported network with OpenVINO on the CPU.

    Args:
        model_file (str): An OpenVINO IR (``.xml``, its ``.bin`` beside it)
            written by ``export_openvino``, or an ``.onnx`` file.
        threads (int, optional): Inference threads (default: OpenVINO's).
        precision (str): ``'f32'`` (default) or ``'bf16'``.
        profile (bool): Collect per-layer times (see :meth:`profile`).
    """

    runtime = 'openvino'

    def __init__(self,
                 model_file: str,
                 threads: Optional[int] = None,
                 precision: str = 'f32',
                 profile: bool = False) -> None:
        core = openvino_core()
        if model_file.endswith('.onnx'):
            _load_onnx_checked(model_file)
        elif not model_file.endswith('.xml'):
            raise ValueError(f'{model_file!r}: OpenVINO runs an .xml IR '
                             f'(with its .bin) or an .onnx file; '
                             f'{EXPORT_HINT} --openvino')
        elif not (osp.isfile(model_file)
                  and osp.isfile(osp.splitext(model_file)[0] + '.bin')):
            raise FileNotFoundError(
                f'OpenVINO model {model_file!r} or its .bin does not exist; '
                f'{EXPORT_HINT} --openvino')
        try:
            model = core.read_model(model_file)
        except Exception as e:
            raise ValueError(f'{model_file!r} cannot be read by OpenVINO '
                             f'({e}); {EXPORT_HINT}') from None
        check_finite_constants(model, model_file)
        config = openvino_config(threads, precision)
        if profile:
            config['PERF_COUNT'] = 'YES'
        self.compiled = core.compile_model(model, 'CPU', config)
        self.precision = self.compiled.get_property(
            'INFERENCE_PRECISION_HINT').get_type_name()
        self.request = self.compiled.create_infer_request()
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]
        exported = (
            model.has_rt_info(META_OUTPUTS) or model_file.endswith('.onnx'))
        self.nested = exported and self.output_names != ['heatmaps']
        shape = self.compiled.inputs[0].get_partial_shape()
        self.fixed_batch = (
            shape[0].get_length() if shape[0].is_static else None)
        self.input_hw = (shape[2].get_length(), shape[3].get_length())

    def _infer(self, x: np.ndarray) -> List[np.ndarray]:
        self.request.infer({0: x})
        return [
            self.request.get_output_tensor(i).data.copy()
            for i in range(len(self.output_names))
        ]

    def profile(self) -> List[Dict]:
        """Per executed layer of the last inference: ``type`` and
        ``real_us`` (needs ``profile=True``)."""
        return [
            dict(
                name=p.node_name,
                type=p.node_type,
                real_us=p.real_time.total_seconds() * 1e6)
            for p in self.request.profiling_info
        ]


def load_network(model_file: str,
                 runtime: str = 'onnxruntime',
                 threads: Optional[int] = None,
                 precision: str = 'f32') -> ExportedNetwork:
    """An :class:`ExportedNetwork` of ``model_file`` on ``runtime``."""
    if runtime == 'onnxruntime':
        if precision != 'f32':
            raise ValueError(f'precision {precision!r}: ONNX Runtime runs '
                             f'these files in f32 only')
        if not model_file.endswith('.onnx'):
            raise ValueError(f'{model_file!r}: ONNX Runtime runs .onnx '
                             f'files; {EXPORT_HINT}')
        return OnnxRuntimeNetwork(model_file, threads)
    if runtime == 'openvino':
        return OpenVINONetwork(model_file, threads, precision)
    raise ValueError(f'unknown runtime {runtime!r}; choose one of '
                     f'{", ".join(EXPORTED_RUNTIMES)}')


def compare_outputs(estimator: nn.Module,
                    model_file: str,
                    input_shape: Sequence[int],
                    batch: int = 2,
                    seed: int = 0,
                    runtime: str = 'onnxruntime',
                    precision: str = 'f32') -> Dict[str, float]:
    """Run PyTorch (eval, BN not folded) and the exported file on
    ``runtime`` on the same random normalised images and compare.

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
    got = load_network(model_file, runtime, precision=precision).run(x.numpy())
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


def use_exported(estimator: nn.Module,
                 model_file: str,
                 runtime: str = 'onnxruntime',
                 precision: str = 'f32') -> nn.Module:
    """Make ``estimator`` compute its network with an exported file on
    ``runtime``.

    MMPose's estimator calls ``extract_feat`` on the preprocessed images
    (and on the flipped ones for flip test), then ``head.forward`` inside
    ``head.predict``. Here ``extract_feat`` passes the images through and
    ``head.forward`` runs the exported file, so the data preprocessor,
    flip test and the codec's decoding stay MMPose's own, and
    ``MMPoseInferencer`` and ``Runner.test`` work unchanged.

    Returns:
        nn.Module: ``estimator``, in eval mode.
    """
    network = load_network(model_file, runtime, precision=precision)
    estimator.extract_feat = lambda inputs: inputs
    estimator.head.forward = network
    estimator.exported_file = model_file
    return estimator.eval()
