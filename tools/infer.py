"""Draw an AutoPose model's predictions on your own images or video, with
MMPose's inferencer.

    python tools/infer.py CONFIG CHECKPOINT INPUT [--out-dir DIR]
                          [--genotype FILE]
                          [--det-model whole_image | DET_CONFIG]
                          [--det-weights CKPT]
                          [--det-file DETECTIONS.json [--det-images COCO.json]]
                          [--backend pytorch | onnxruntime | openvino]
                          [--precision f32 | bf16] [--device cpu] [--show]

INPUT is an image, a folder of images or a video. Drawn pictures (or the
drawn video) go to ``DIR/visualizations`` and the keypoints as JSON to
``DIR/predictions``. Person boxes come from one of:

- the whole image (the default, ``--det-model whole_image``);
- an MMDetection config and checkpoint (``--det-model`` / ``--det-weights``);
- a detection-results file (``--det-file``: a list of ``image_id``, ``bbox``
  ``[x, y, w, h]``, ``score``, with ``--det-images`` a COCO file whose
  ``images`` map the ids to file names; or entries with ``file_name``).

With ``--backend onnxruntime`` CHECKPOINT is an ``.onnx`` file written by
``tools/deployment/pytorch2onnx.py``, with ``--backend openvino`` the
``.xml`` it writes with ``--openvino`` (or the ``.onnx`` file); the config
still supplies the pre-processing, flip test and decoding. OpenVINO runs in
f32 unless ``--precision bf16`` (on CPUs with AMX or AVX-512 BF16).
"""
import argparse
import os
import os.path as osp
from typing import List

import autopose_mm  # noqa: F401  (registers modules, safe loading, drawing)
from autopose_mm.engine.guards import (
    check_checkpoint,
    check_predictions,
    stored_genotype,
)
from autopose_mm.utils.checkpoint import load_from_local_safely
from autopose_mm.utils.limits import limit, limit_hint

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='image, folder of images or video')
    parser.add_argument('--out-dir', default='work_dirs/infer')
    parser.add_argument(
        '--genotype',
        help='genotype file the checkpoint was trained with, '
        'when the config does not name it (backbone and neck)')
    parser.add_argument(
        '--det-model',
        default='whole_image',
        help='"whole_image", or an MMDetection config for person boxes')
    parser.add_argument('--det-weights', help='detector checkpoint')
    parser.add_argument(
        '--det-cat-ids',
        type=int,
        nargs='+',
        default=[0],
        help='class ids of people among the detector\'s classes (0 for '
        'COCO-trained detectors)')
    parser.add_argument(
        '--det-file', help='person boxes from a detection-results JSON')
    parser.add_argument(
        '--det-images',
        help='COCO JSON whose "images" map the --det-file image ids to files')
    parser.add_argument(
        '--bbox-thr',
        type=float,
        default=0.3,
        help='boxes scoring below this are ignored')
    parser.add_argument(
        '--backend',
        choices=['pytorch', 'onnxruntime', 'openvino'],
        default='pytorch',
        help='onnxruntime: CHECKPOINT is an exported .onnx file; openvino: '
        'an exported .xml (or .onnx) file')
    parser.add_argument(
        '--precision',
        choices=['f32', 'bf16'],
        default='f32',
        help='OpenVINO\'s inference precision (bf16 needs AMX or AVX-512 '
        'BF16)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument(
        '--show', action='store_true', help='also display the pictures')
    parser.add_argument(
        '--partial-load',
        action='store_true',
        help='run even if the checkpoint does not match the model (only the '
        'matching weights are loaded)')
    return parser.parse_args()


def check_inputs(path: str) -> List[str]:
    """Check that the input exists and that OpenCV can read every image (or
    the video's first frame); returns the files."""
    import cv2
    if not osp.exists(path):
        raise FileNotFoundError(f'input {path!r} does not exist; give an '
                                f'image, a folder of images or a video')
    if osp.isdir(path):
        files = sorted(
            osp.join(path, f) for f in os.listdir(path)
            if f.lower().endswith(IMAGE_EXTS))
        if not files:
            raise ValueError(f'folder {path!r} holds no image ('
                             f'{", ".join(IMAGE_EXTS)})')
    else:
        files = [path]
    for f in files:
        if f.lower().endswith(VIDEO_EXTS):
            video = cv2.VideoCapture(f)
            ok = video.isOpened() and video.read()[0]
            video.release()
            if not ok:
                raise ValueError(f'video {f!r} cannot be read (damaged, or a '
                                 f'codec OpenCV lacks)')
        else:
            check_image(f)
    return files


def check_image(path: str) -> None:
    """An image must be complete, and within ``limit('image_pixels')``
    (read from its header before anything is decoded)."""
    import cv2
    from PIL import Image
    bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:  # opening reads the header only; the size is checked below
        img = Image.open(path)
    except Exception:  # a format only OpenCV reads, or not an image
        if cv2.imread(path) is None:
            raise ValueError(f'image {path!r} cannot be read (damaged, or '
                             f'not an image)') from None
        return
    finally:
        Image.MAX_IMAGE_PIXELS = bound
    with img:
        width, height = img.size
        if width * height > limit('image_pixels'):
            raise ValueError(
                f'image {path!r} has {width}x{height} pixels, more than '
                f'this tool decodes {limit_hint("image_pixels")}')
        try:
            img.load()  # a truncated file fails here
        except Exception as e:
            raise ValueError(f'image {path!r} cannot be read (damaged or '
                             f'truncated: {e})') from None


def stop_at_non_finite(pose) -> None:
    """Make the inferencer stop at a non-finite prediction, before it is
    drawn or written (its keypoints would be NaN in the JSON)."""
    forward = pose.forward

    def checked(*args, **kwargs):
        preds = forward(*args, **kwargs)
        check_predictions(preds, 'inference')
        return preds

    pose.forward = checked


def check_detector(args: argparse.Namespace) -> None:
    if args.det_file and args.det_model != 'whole_image':
        raise ValueError('give either --det-file or --det-model, not both')
    if args.det_model == 'whole_image':
        return
    for what, path in (('--det-model', args.det_model), ('--det-weights',
                                                         args.det_weights)):
        if path is None or not osp.isfile(path):
            raise FileNotFoundError(
                f'{what} {path!r} is not a file; person detection needs an '
                f'MMDetection config (--det-model) and its checkpoint '
                f'(--det-weights), or use --det-model whole_image')


def build_inferencer(args: argparse.Namespace):
    """MMPose's inferencer for the config, with the checkpoint's genotype
    and weights checked against the model (PyTorch), or computing the
    network with the exported file on ONNX Runtime or OpenVINO."""
    from mmengine.config import Config
    from mmpose.apis import MMPoseInferencer
    config = Config.fromfile(args.config)
    exported = args.backend != 'pytorch'
    endings = dict(onnxruntime=('.onnx', ), openvino=('.xml', '.onnx'))
    if args.checkpoint.endswith(endings.get(args.backend,
                                            ('.onnx', '.xml'))) != exported:
        raise ValueError(
            f'checkpoint {args.checkpoint!r}: --backend onnxruntime takes an '
            f'.onnx file, --backend openvino an .xml (or .onnx) file '
            f'(tools/deployment/pytorch2onnx.py [--openvino] writes them), '
            f'--backend pytorch a .pth checkpoint')
    if args.precision != 'f32' and args.backend != 'openvino':
        raise ValueError(f'--precision {args.precision} needs --backend '
                         f'openvino')
    checkpoint = None
    if not exported:
        checkpoint = load_from_local_safely(
            args.checkpoint, map_location='cpu')
    if args.genotype:
        config.model.genotype = args.genotype
    elif checkpoint is not None and stored_genotype(
            checkpoint, args.checkpoint) is not None:
        config.model.genotype = stored_genotype(checkpoint, args.checkpoint)
        print('using the genotype stored in the checkpoint '
              f'({config.model.genotype.get("name") or "unnamed"})')
    inferencer = MMPoseInferencer(
        pose2d=config,
        pose2d_weights=None if exported else args.checkpoint,
        det_model=args.det_model,
        det_weights=args.det_weights,
        det_cat_ids=tuple(args.det_cat_ids),
        device=args.device,
        show_progress=True)
    pose = inferencer.inferencer
    if exported:
        from autopose_mm.deploy import use_exported
        use_exported(pose.model, args.checkpoint, args.backend, args.precision)
        expected = tuple(config.codec.input_size)[::-1] if 'codec' in \
            config else None
        got = pose.model.head.forward.input_hw
        if expected and got != expected:
            raise ValueError(
                f'{args.checkpoint!r} takes {got[0]}x{got[1]} inputs but the '
                f'config {args.config!r} crops {expected[0]}x{expected[1]}; '
                f'export with --shape {expected[0]} {expected[1]}')
    else:
        check_checkpoint(pose.model, checkpoint, args.checkpoint,
                         args.partial_load)
    stop_at_non_finite(pose)
    if args.det_file:
        from autopose_mm.deploy import DetectionFileBoxes
        pose.detector = DetectionFileBoxes(args.det_file, args.det_images)
        pose.det_cat_ids = (0, )
    return inferencer


def check_boxes(inferencer, files: List[str]) -> None:
    """Check every image's boxes of a detection file before anything is
    drawn or written (a video takes no detection file)."""
    from PIL import Image

    from autopose_mm.deploy import DetectionFileBoxes
    boxes = inferencer.inferencer.detector
    if not isinstance(boxes, DetectionFileBoxes):
        return
    for f in files:
        if not f.lower().endswith(VIDEO_EXTS):
            with Image.open(f) as img:
                boxes.check_image(f, *img.size)


def main() -> None:
    args = parse_args()
    files = check_inputs(args.input)
    check_detector(args)
    inferencer = build_inferencer(args)
    check_boxes(inferencer, files)
    count = 0
    # a folder goes in as its image files (what check_inputs read), so that
    # other files there are not handed to the inferencer
    for _ in inferencer(
            files if osp.isdir(args.input) else args.input,
            show=args.show,
            kpt_thr=args.kpt_thr,
            bbox_thr=args.bbox_thr,
            vis_out_dir=osp.join(args.out_dir, 'visualizations'),
            pred_out_dir=osp.join(args.out_dir, 'predictions')):
        count += 1
    print(f'{count} frame(s) drawn into '
          f'{osp.join(args.out_dir, "visualizations")}, keypoints in '
          f'{osp.join(args.out_dir, "predictions")}')


if __name__ == '__main__':
    main()
