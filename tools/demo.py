"""The end-to-end demo on built-in sample data.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs N]

Steps: generate the synthetic COCO-format data (once), train AutoPose-L12-C32
with the demo config, evaluate COCO AP with the detection boxes and flip
test, print a results table and draw the predictions on validation images
(``<work-dir>/predictions.png``).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

TRAIN_CFG = osp.join(REPO, 'configs', 'autopose', 'demo',
                     'l12_c32_sample_coco_256x192.py')


def banner(text: str) -> None:
    print(f'\n===== {text} =====', flush=True)


def run(args: List[str]) -> None:
    """Run a tool of this repository, streaming its output."""
    subprocess.run([sys.executable] + args, cwd=os.getcwd(), check=True)


def draw_predictions(cfg_path: str, ckpt: str, data_root: str, out: str,
                     num_images: int = 8) -> None:
    """Draw the predicted skeletons on the first validation images."""
    import cv2
    import numpy as np
    from mmpose.apis import inference_topdown, init_model

    from autopose_mm.datasets import COCO_SKELETON
    model = init_model(cfg_path, ckpt, device='cpu')
    with open(osp.join(data_root, 'person_detection_results',
                       'detections_val2017.json')) as f:
        dets = json.load(f)
    with open(osp.join(data_root, 'annotations',
                       'person_keypoints_val2017.json')) as f:
        images = json.load(f)['images'][:num_images]
    tiles = []
    for info in images:
        img = cv2.imread(
            osp.join(data_root, 'images', 'val2017', info['file_name']))
        boxes = np.array([
            d['bbox'] for d in dets
            if d['image_id'] == info['id'] and d['score'] > 0.5
        ]).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        for sample in inference_topdown(model, img, boxes, 'xyxy'):
            kpts = sample.pred_instances.keypoints[0]
            scores = sample.pred_instances.keypoint_scores[0]
            for a, b in COCO_SKELETON:
                if min(scores[a - 1], scores[b - 1]) > 0.3:
                    cv2.line(img, tuple(int(v) for v in kpts[a - 1]),
                             tuple(int(v) for v in kpts[b - 1]),
                             (0, 255, 255), 2, cv2.LINE_AA)
            for (x, y), s in zip(kpts, scores):
                if s > 0.3:
                    cv2.circle(img, (int(x), int(y)), 3, (0, 0, 255), -1)
        tiles.append(img)
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
    cv2.imwrite(out, np.vstack(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--epochs', type=int, help='override the demo schedule length')
    args = parser.parse_args()
    start = time.time()
    data_root = 'data/sample_coco/'  # as in the demo config

    banner('1/4 sample data')
    if osp.isfile(osp.join(data_root, 'annotations',
                           'person_keypoints_val2017.json')):
        print(f'using the existing sample data in {data_root}')
    else:
        run([osp.join(REPO, 'tools', 'misc', 'generate_sample_data.py'),
             '--out', data_root])

    banner('2/4 training AutoPose-L12-C32')
    train_dir = osp.join(args.work_dir, 'train')
    options = []
    if args.epochs:
        options = [f'train_cfg.max_epochs={args.epochs}',
                    f'train_cfg.val_interval={args.epochs}',
                    f'default_hooks.checkpoint.interval={args.epochs}']
    t0 = time.time()
    run([osp.join(REPO, 'tools', 'train.py'), TRAIN_CFG, '--work-dir',
         train_dir] + (['--cfg-options'] + options if options else []))
    train_time = time.time() - t0
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()

    banner('3/4 evaluating (detection boxes, flip test)')
    metrics_file = osp.join(args.work_dir, 'metrics.json')
    run([osp.join(REPO, 'tools', 'test.py'), TRAIN_CFG, ckpt, '--work-dir',
         osp.join(args.work_dir, 'test'), '--out', metrics_file])
    with open(metrics_file) as f:
        metrics = json.load(f)

    banner('4/4 pictures and summary')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import autopose_mm  # noqa: F401
    from autopose_mm.utils.complexity import count_macs, count_params
    cfg = Config.fromfile(TRAIN_CFG)
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    w, h = cfg.codec['input_size']
    params = count_params(model) / 1e6
    gflops = count_macs(model, (3, h, w)) / 1e9
    picture = osp.join(args.work_dir, 'predictions.png')
    draw_predictions(TRAIN_CFG, ckpt, data_root, picture)

    print(f'\n| model | input | params | GFLOPs | AP | AP .5 | AR | '
          f'train time | total time |')
    print('|---|---|---|---|---|---|---|---|---|')
    print(f'| AutoPose-L12-C32 | {h}x{w} | {params:.2f}M | {gflops:.2f} | '
          f'{metrics["coco/AP"]:.3f} | {metrics["coco/AP .5"]:.3f} | '
          f'{metrics["coco/AR"]:.3f} | {train_time / 60:.1f} min | '
          f'{(time.time() - start) / 60:.1f} min |')
    print(f'\npredictions drawn on validation images: {picture}')


if __name__ == '__main__':
    main()
