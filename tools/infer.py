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
import os.path as osp

import autopose_mm  # noqa: F401  (registers modules, safe loading, drawing)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='image, folder of images or video')
    parser.add_argument('--out-dir', default='work_dirs/infer')
    parser.add_argument(
        '--genotype', help='genotype file the checkpoint was trained with, '
        'when the config does not name it (backbone and neck)')
    parser.add_argument(
        '--det-model', default='whole_image',
        help='"whole_image", or an MMDetection config for person boxes')
    parser.add_argument('--det-weights', help='detector checkpoint')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--show', action='store_true',
                        help='also display the pictures')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.exists(args.input):
        raise FileNotFoundError(f'input {args.input!r} does not exist; give '
                                f'an image, a folder of images or a video')
    from mmengine.config import Config
    from mmpose.apis import MMPoseInferencer
    config = args.config
    if args.genotype:
        config = Config.fromfile(args.config)
        config.model.genotype = args.genotype
    inferencer = MMPoseInferencer(
        pose2d=config, pose2d_weights=args.checkpoint,
        det_model=args.det_model, det_weights=args.det_weights,
        device=args.device, show_progress=True)
    count = 0
    for _ in inferencer(args.input, show=args.show, kpt_thr=args.kpt_thr,
                        vis_out_dir=osp.join(args.out_dir, 'visualizations'),
                        pred_out_dir=osp.join(args.out_dir, 'predictions')):
        count += 1
    print(f'{count} frame(s) drawn into '
          f'{osp.join(args.out_dir, "visualizations")}, keypoints in '
          f'{osp.join(args.out_dir, "predictions")}')


if __name__ == '__main__':
    main()
