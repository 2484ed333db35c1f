"""Post-training int8 quantization of an exported OpenVINO model with NNCF.

The calibration inputs are person crops of the config's own training data,
made by the config's test pipeline and its data preprocessor, i.e. exactly
what the exported network reads at test time. :func:`quantize_openvino`
inserts NNCF's quantizers, calibrated on them; with ``max_drop`` it uses
NNCF's accuracy control, which keeps the layers that cost most accuracy in
f32 until the model loses at most ``max_drop`` of the validation metric
(:func:`keypoint_accuracy`, MMPose's PCK of the decoded keypoints against
the annotated ones within the crops).
"""
import copy
import os
import os.path as osp
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from ..datasets import ensure_sample_data
from ..utils.extras import require
from ..utils.io import named_disk_errors
from .runtimes import check_finite_constants, load_network, openvino_core

# the share of the crop size a keypoint may miss by and still count
PCK_THRESHOLD = 0.05


@dataclass
class CropSet:
    """Crops as the exported network reads them, with what the validation
    needs.

    Args:
        inputs (np.ndarray): N x 3 x H x W, normalised (the config's data
            preprocessor applied).
        keypoints (np.ndarray): N x K x 2, the annotated keypoints in crop
            pixels.
        visible (np.ndarray): N x K, 1 where a keypoint is annotated.
    """
    inputs: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray


def _build_dataset(cfg: Config, split: str):
    from mmpose.registry import DATASETS
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise ValueError(f'the config has no {split}_dataloader.dataset to '
                         f'take crops from')
    dataset_cfg = copy.deepcopy(loader.dataset)
    # the annotated people (a detection file's boxes carry no keypoints)
    dataset_cfg.pop('bbox_file', None)
    # the crops the network sees at test time: the test pipeline, packing
    # the keypoints in crop pixels too
    pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    for step in pipeline:
        if step.get('type') == 'PackPoseInputs':
            step['pack_transformed'] = True
    dataset_cfg.pipeline = pipeline
    return DATASETS.build(dataset_cfg)


def person_crops(cfg: Config,
                 num: int,
                 split: str = 'train',
                 seed: int = 0,
                 batch_size: int = 16) -> CropSet:
    """``num`` person crops of the config's ``split`` data (drawn without
    replacement, seeded), through its test pipeline and data preprocessor.

    Args:
        cfg (Config): The model's config.
        num (int): How many crops (fewer when the data holds fewer).
        split (str): ``'train'`` (calibration) or ``'val'``/``'test'``
            (validation).
        seed (int): Seed of the draw.
        batch_size (int): Crops preprocessed at a time.

    Returns:
        CropSet: The crops and their keypoints.

    Raises:
        ValueError: ``num`` is not positive or the data holds no person.
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    if num < 1:
        raise ValueError(f'the number of crops must be at least 1, got {num}')
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    dataset = _build_dataset(cfg, split)
    if len(dataset) == 0:
        raise ValueError(f'the {split} data of the config holds no person '
                         f'to take crops from')
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(dataset), min(num, len(dataset)), replace=False)
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    inputs, keypoints, visible = [], [], []
    for start in range(0, len(picks), batch_size):
        samples = [dataset[int(i)] for i in picks[start:start + batch_size]]
        with torch.no_grad():
            batch = preprocessor(pseudo_collate(samples), False)
        inputs.append(batch['inputs'].float().numpy())
        for sample in batch['data_samples']:
            gt = sample.gt_instances
            kpts = np.asarray(gt.transformed_keypoints)[0]
            keypoints.append(kpts[..., :2])
            visible.append(np.asarray(gt.keypoints_visible)[0] > 0)
    return CropSet(
        np.concatenate(inputs),
        np.stack(keypoints).astype(np.float32),
        np.stack(visible).astype(np.float32))


SAMPLE_ROOT = 'data/sample_coco/'


def sample_data_crops(cfg: Config,
                      num: int,
                      input_hw: Sequence[int],
                      seed: int = 0) -> np.ndarray:
    """Calibration inputs for any COCO-keypoint config from the built-in
    sample data (generated if missing), cropped by the config's own test
    pipeline at ``input_hw``: what the benchmark quantizes every network
    with, so that all of them are calibrated alike.

    Returns:
        np.ndarray: ``num`` normalised crops, N x 3 x H x W.
    """
    cfg = copy.deepcopy(cfg)
    train = cfg.train_dataloader.dataset
    train.data_root = SAMPLE_ROOT
    train.ann_file = 'annotations/person_keypoints_train2017.json'
    train.data_prefix = dict(img='images/train2017/')
    train.pop('bbox_file', None)
    size = (int(input_hw[1]), int(input_hw[0]))  # MMPose's (w, h)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.get('type') == 'TopdownAffine':
            step['input_size'] = size
    ensure_sample_data(cfg)
    return person_crops(cfg, num, 'train', seed).inputs


def check_calibration(inputs: np.ndarray, input_hw: Tuple[int, int],
                      where: str) -> None:
    """Refuse calibration inputs that would calibrate nothing useful.

    Raises:
        ValueError: Empty, not N x 3 x H x W at the model's size, or
            holding NaN or infinity; names ``where``.
    """
    if inputs.size == 0 or len(inputs) == 0:
        raise ValueError(f'{where}: no calibration input')
    if inputs.ndim != 4 or inputs.shape[1] != 3 or \
            tuple(inputs.shape[2:]) != tuple(input_hw):
        raise ValueError(
            f'{where}: calibration inputs of shape {tuple(inputs.shape)}, '
            f'but the model reads N x 3 x {input_hw[0]} x {input_hw[1]}; '
            f'use the config the model was exported with')
    if not np.isfinite(inputs).all():
        raise ValueError(f'{where}: calibration inputs hold NaN or infinite '
                         f'values')


def decode(heatmaps: np.ndarray, input_hw: Sequence[int]) -> np.ndarray:
    """Keypoints (N x K x 2, crop pixels) of heatmaps: MMPose's arg-max with
    its sub-pixel refinement."""
    from mmpose.codecs.utils import get_heatmap_maximum, refine_keypoints
    scale = input_hw[1] / heatmaps.shape[-1]
    out = []
    for hm in heatmaps:
        k, _ = get_heatmap_maximum(hm)
        out.append(refine_keypoints(k[None], hm)[0] * scale)
    return np.stack(out)


def keypoint_accuracy(predicted: np.ndarray, crops: CropSet,
                      input_hw: Sequence[int]) -> float:
    """MMPose's PCK of ``predicted`` keypoints against the crops' annotated
    ones, a hit within :data:`PCK_THRESHOLD` of the crop size."""
    from mmpose.evaluation.functional import keypoint_pck_accuracy
    h, w = input_hw
    norm = np.tile(np.array([[w, h]], dtype=np.float32), (len(predicted), 1))
    _, accuracy, _ = keypoint_pck_accuracy(predicted, crops.keypoints,
                                           crops.visible > 0, PCK_THRESHOLD,
                                           norm)
    return float(accuracy)


def _last_heatmaps(outputs: Dict) -> np.ndarray:
    return np.asarray(list(outputs.values())[-1])


def run_compiled(compiled, inputs: np.ndarray) -> np.ndarray:
    """The last output (heatmaps) of a compiled OpenVINO model, one input
    at a time (the exported IR has a fixed batch of one unless exported
    with a dynamic batch)."""
    request = compiled.create_infer_request()
    outs = []
    for x in inputs:
        request.infer({0: x[None]})
        outs.append(
            request.get_output_tensor(len(compiled.outputs) - 1).data.copy())
    return np.concatenate(outs)


def save_openvino(model, out_file: str) -> None:
    """Write an OpenVINO model as ``out_file`` (``.xml``) and its ``.bin``,
    the ``.bin`` first and the ``.xml`` last, each by a rename, so that a
    reader never meets half a model."""
    ov = require('openvino')
    if not out_file.endswith('.xml'):
        raise ValueError(f'OpenVINO model {out_file!r} must end with .xml')
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    with named_disk_errors(out_file), \
            tempfile.TemporaryDirectory(dir=folder, prefix='.tmp-') as tmp:
        xml = osp.join(tmp, 'model.xml')
        ov.save_model(model, xml, compress_to_fp16=False)
        os.replace(
            osp.join(tmp, 'model.bin'),
            osp.splitext(out_file)[0] + '.bin')
        os.replace(xml, out_file)


def quantize_openvino(
        model_file: str,
        calibration: np.ndarray,
        validation: Optional[CropSet] = None,
        max_drop: Optional[float] = None,
        log: Callable[[str], None] = print) -> Tuple[object, List[str]]:
    """Quantize an exported OpenVINO model to int8 with NNCF.

    Args:
        model_file (str): The f32 IR (``.xml``) or ONNX file.
        calibration (np.ndarray): N x 3 x H x W normalised crops
            (:func:`person_crops`), checked by :func:`check_calibration`.
        validation (CropSet, optional): Crops with keypoints for the
            accuracy control.
        max_drop (float, optional): Largest loss of
            :func:`keypoint_accuracy` allowed (absolute); NNCF then keeps
            the most sensitive layers in f32. None: plain post-training
            quantization.
        log (callable): Where progress lines go.

    Returns:
        tuple: The quantized ``openvino.Model`` and the names of the layers
        kept in f32 by the accuracy control (empty without it).
    """
    nncf = require('nncf')
    ov = require('openvino')
    core = openvino_core()
    model = core.read_model(model_file)
    check_finite_constants(model, model_file)
    shape = model.inputs[0].get_partial_shape()
    input_hw = (shape[2].get_length(), shape[3].get_length())
    check_calibration(calibration, input_hw, model_file)
    items = [x[None] for x in calibration]
    dataset = nncf.Dataset(items)
    if max_drop is None:
        quantized = nncf.quantize(model, dataset, subset_size=len(items))
        return quantized, []
    if validation is None:
        raise ValueError('max_drop needs validation crops with keypoints')
    check_calibration(validation.inputs, input_hw, f'{model_file} (val)')

    def validate(compiled, data) -> float:
        heatmaps = run_compiled(compiled, validation.inputs)
        return keypoint_accuracy(
            decode(heatmaps, input_hw), validation, input_hw)

    quantized = nncf.quantize_with_accuracy_control(
        model,
        calibration_dataset=dataset,
        validation_dataset=nncf.Dataset([validation.inputs]),
        validation_fn=validate,
        max_drop=max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        subset_size=len(items))
    kept = [
        op.get_friendly_name() for op in quantized.get_ops()
        if op.get_type_name() == 'Convolution' and not any(
            inp.get_node().get_type_name() == 'FakeQuantize'
            for inp in op.input_values())
    ]
    del ov
    return quantized, kept


def quantize_for_timing(model,
                        feeds: Dict[str, np.ndarray],
                        samples: int = 8,
                        seed: int = 0):
    """``model`` quantized by NNCF as :func:`quantize_openvino` does,
    calibrated on ``feeds`` (input name -> array) and ``samples - 1`` noisy
    copies: for timing blocks and networks, whose int8 speed does not
    depend on the calibration's values."""
    nncf = require('nncf')
    rng = np.random.default_rng(seed)
    items = [feeds] + [{
        k: (v + rng.standard_normal(v.shape).astype(v.dtype) * 0.1)
        for k, v in feeds.items()
    } for _ in range(samples - 1)]
    return nncf.quantize(model, nncf.Dataset(items), subset_size=samples)


def compare_int8(f32_file: str, int8_file: str,
                 crops: CropSet) -> Dict[str, float]:
    """How far the int8 model is from the f32 one on real crops.

    Returns:
        dict: ``relative`` (largest heatmap difference over the f32
        heatmaps' range), ``mean_keypoint_px`` and ``max_keypoint_px`` (the
        decoded keypoints' distance, crop pixels), and
        ``accuracy_f32``/``accuracy_int8`` (:func:`keypoint_accuracy`).
    """
    hw = crops.inputs.shape[2:]
    ref = load_network(f32_file, 'openvino').run(crops.inputs)[-1]
    got = load_network(int8_file, 'openvino').run(crops.inputs)[-1]
    span = float(ref.max() - ref.min())
    k_ref, k_got = decode(ref, hw), decode(got, hw)
    dist = np.linalg.norm(k_ref - k_got, axis=-1)
    return dict(
        relative=float(np.abs(ref - got).max()) / max(span, 1e-12),
        mean_keypoint_px=float(dist.mean()),
        max_keypoint_px=float(dist.max()),
        accuracy_f32=keypoint_accuracy(k_ref, crops, hw),
        accuracy_int8=keypoint_accuracy(k_got, crops, hw))
