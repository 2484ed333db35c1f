"""Draw an AutoPose model's predictions on your own images or video, with
MMPose's inferencer.

    python tools/infer.py CONFIG CHECKPOINT INPUT [--out-dir DIR]
                          [--genotype FILE]
                          [--det-model whole_image | DET_CONFIG]
                          [--det-weights CKPT] [--device cpu] [--show]

INPUT is an image, a folder of images or a video. Drawn pictures go to
``DIR/visualizations`` and the keypoints as JSON to ``DIR/predictions``.
Without a detector every whole image is one person box; give an MMDetection
config and checkpoint with ``--det-model`` / ``--det-weights`` for people
detection.
"""
import argparse
import os
import os.path as osp
from typing import List

import autopose_mm  # noqa: F401  (registers modules, safe loading, drawing)
from autopose_mm.engine.guards import check_checkpoint, stored_genotype
from autopose_mm.utils.checkpoint import load_from_local_safely

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
        elif cv2.imread(f) is None:
            raise ValueError(f'image {f!r} cannot be read (damaged, or not '
                             f'an image)')
    return files


def check_detector(args: argparse.Namespace) -> None:
    if args.det_model == 'whole_image':
        return
    for what, path in (('--det-model', args.det_model), ('--det-weights',
                                                         args.det_weights)):
        if path is None or not osp.isfile(path):
            raise FileNotFoundError(
                f'{what} {path!r} is not a file; person detection needs an '
                f'MMDetection config (--det-model) and its checkpoint '
                f'(--det-weights), or use --det-model whole_image')


def main() -> None:
    args = parse_args()
    check_inputs(args.input)
    check_detector(args)
    from mmengine.config import Config
    from mmpose.apis import MMPoseInferencer
    checkpoint = load_from_local_safely(args.checkpoint, map_location='cpu')
    config = Config.fromfile(args.config)
    if args.genotype:
        config.model.genotype = args.genotype
    elif stored_genotype(checkpoint) is not None:
        config.model.genotype = stored_genotype(checkpoint)
        print('using the genotype stored in the checkpoint '
              f'({stored_genotype(checkpoint).get("name") or "unnamed"})')
    inferencer = MMPoseInferencer(
        pose2d=config,
        pose2d_weights=args.checkpoint,
        det_model=args.det_model,
        det_weights=args.det_weights,
        device=args.device,
        show_progress=True)
    check_checkpoint(inferencer.inferencer.model, checkpoint, args.checkpoint,
                     args.partial_load)
    count = 0
    for _ in inferencer(
            args.input,
            show=args.show,
            kpt_thr=args.kpt_thr,
            vis_out_dir=osp.join(args.out_dir, 'visualizations'),
            pred_out_dir=osp.join(args.out_dir, 'predictions')):
        count += 1
    print(f'{count} frame(s) drawn into '
          f'{osp.join(args.out_dir, "visualizations")}, keypoints in '
          f'{osp.join(args.out_dir, "predictions")}')


if __name__ == '__main__':
    main()
