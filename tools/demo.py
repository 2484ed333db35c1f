"""The end-to-end demo on built-in sample data: search, train, evaluate, show.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs N]
                         [--budget-epochs E]

1. generate the synthetic COCO-format people (once, into data/sample_coco,
   with the search's and the comparison's own test sets);
2. search the cells as an Optuna study (``tools/search.py``): candidates of
   equal cost in the small proxy network, each trained for 1, 2, 4 and 8
   epochs and pruned by successive halving, two worker processes;
3. random search given the same training epochs, as the baseline;
4. both searches' picks trained fully in the proxy network and tested on
   the comparison's own 400 images (steps 2-4 are
   ``tools/analysis/study_vs_random.py`` with one seed);
5. train AutoPose-L12-C32 built from the study's genotype (the real
   network at stage 1 and 128x96, with the sample data and a short
   schedule) and evaluate COCO AP with the detection boxes and flip test;
6. print the front, the two searches side by side and the results table,
   and write pictures to the work dir: ``front.png`` (both searches' fronts
   and their picks trained fully), ``architecture.png`` (the found cells
   and the network) and ``predictions.png`` (predicted skeletons on
   validation images).
"""
import argparse
import json
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')
STUDY_CFG = osp.join(DEMO, 'study_l6_c16_sample_coco_128x96.py')
TRAIN_CFG = osp.join(DEMO, 'l12_c32_sample_coco_128x96.py')
PROXY_CFG = osp.join(DEMO, 'proxy_l6_c16_sample_coco_128x96.py')
DATA_ROOT = 'data/sample_coco/'  # as in the demo configs


def banner(step: str, text: str, start: float) -> None:
    print(
        f'\n===== [{time.time() - start:5.0f}s] {step} {text} =====',
        flush=True)


def run(args: List[str]) -> None:
    """Run a tool of this repository, streaming its output."""
    subprocess.run([sys.executable] + args, check=True)


def draw_predictions(cfg_path: str,
                     ckpt: str,
                     out: str,
                     num_images: int = 8) -> None:
    """Draw the predicted skeletons of the detected people on the first
    validation images, with MMPose's own visualiser."""
    import cv2
    import numpy as np
    from mmpose.apis import inference_topdown, init_model
    from mmpose.structures import merge_data_samples
    from mmpose.visualization import PoseLocalVisualizer
    model = init_model(cfg_path, ckpt, device='cpu')
    visualizer = PoseLocalVisualizer(
        name='demo_predictions', backend='opencv', radius=2, line_width=1)
    visualizer.set_dataset_meta(model.dataset_meta)
    with open(
            osp.join(DATA_ROOT, 'person_detection_results',
                     'detections_val2017.json')) as f:
        dets = json.load(f)
    with open(
            osp.join(DATA_ROOT, 'annotations',
                     'person_keypoints_val2017.json')) as f:
        images = json.load(f)['images'][:num_images]
    tiles = []
    for info in images:
        img = cv2.imread(
            osp.join(DATA_ROOT, 'images', 'val2017', info['file_name']))
        boxes = np.array([
            d['bbox'] for d in dets
            if d['image_id'] == info['id'] and d['score'] > 0.5
        ]).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        samples = inference_topdown(model, img, boxes, 'xyxy')
        drawn = visualizer.add_datasample(
            info['file_name'], img[..., ::-1], merge_data_samples(samples),
            draw_gt=False, draw_bbox=True, kpt_thr=0.3) if samples else \
            img[..., ::-1]
        tiles.append(np.ascontiguousarray(drawn[..., ::-1]))
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
    cv2.imwrite(out, np.vstack(rows))


def search(args, work_dir: str) -> dict:
    """The study and random search at the same compute, their picks
    trained fully; returns the comparison's results."""
    out_dir = osp.join(work_dir, 'search')
    run([
        osp.join(REPO, 'tools', 'analysis', 'study_vs_random.py'), '--config',
        STUDY_CFG, '--final-config', PROXY_CFG, '--seeds', '1',
        '--train-seeds', '1', '--workers', '2', '--budget-epochs',
        str(args.budget_epochs), '--work-dir', out_dir
    ] + (['--final-epochs', str(args.proxy_epochs)] if args.
         proxy_epochs else []))
    with open(osp.join(out_dir, 'results.json')) as f:
        return json.load(f)


def train_and_evaluate(args, work_dir: str, genotype: str) -> tuple:
    """Train AutoPose-L12-C32 with the searched cells and evaluate it;
    returns the checkpoint, the metrics and the model options."""
    train_dir = osp.join(work_dir, 'train')
    model_opts = [f'model.genotype={genotype}']
    train_opts = list(model_opts)
    if args.epochs:
        train_opts += [
            f'train_cfg.max_epochs={args.epochs}',
            f'train_cfg.val_interval={args.epochs}',
            f'default_hooks.checkpoint.interval={args.epochs}'
        ]
    run([
        osp.join(REPO, 'tools', 'train.py'), TRAIN_CFG, '--work-dir',
        train_dir, '--cfg-options'
    ] + train_opts)
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    metrics_file = osp.join(work_dir, 'metrics.json')
    run([
        osp.join(REPO, 'tools', 'test.py'), TRAIN_CFG, ckpt, '--work-dir',
        osp.join(work_dir, 'test'), '--out', metrics_file, '--cfg-options'
    ] + model_opts)
    with open(metrics_file) as f:
        return ckpt, json.load(f), model_opts


def pictures(work_dir: str, genotype: str, ckpt: str,
             model_opts: List[str]) -> tuple:
    """Draw the architecture and the predictions, copy the fronts' picture;
    returns the model's parameters (M), GFLOPs and input size."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import autopose_mm  # noqa: F401
    from autopose_mm.models import Genotype, reductions_to_cells
    from autopose_mm.search.plots import draw_architecture
    from autopose_mm.utils.complexity import count_macs, count_params
    cfg = Config.fromfile(TRAIN_CFG)
    cfg.merge_from_dict({k: v for k, v in (o.split('=') for o in model_opts)})
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    w, h = cfg.codec['input_size']
    params = count_params(model) / 1e6
    gflops = count_macs(model, (3, h, w)) / 1e9
    backbone = model.backbone
    draw_architecture(
        Genotype.load(genotype),
        osp.join(work_dir, 'architecture.png'),
        list(
            reductions_to_cells(backbone.num_cells,
                                backbone.reduction_indices)),
        backbone.base_channels,
        cfg.model.neck.num_stages,
        title='searched cells in AutoPose-L12-C32')
    shutil.copyfile(
        osp.join(work_dir, 'search', 'study_vs_random.png'),
        osp.join(work_dir, 'front.png'))
    draw_predictions(cfg, ckpt, osp.join(work_dir, 'predictions.png'))
    return params, gflops, (h, w)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--epochs', type=int, help='override the training schedule length')
    parser.add_argument(
        '--budget-epochs',
        type=int,
        default=24,
        help='training epochs each search may spend')
    parser.add_argument(
        '--proxy-epochs',
        type=int,
        help='override the schedule length of the picks\' full trainings')
    return parser.parse_args()


def ensure_sample_data() -> None:
    if osp.isfile(
            osp.join(DATA_ROOT, 'annotations',
                     'person_keypoints_val2017.json')):
        print(f'using the existing sample data in {DATA_ROOT}')
    else:
        run([
            osp.join(REPO, 'tools', 'misc', 'generate_sample_data.py'),
            '--out', DATA_ROOT
        ])


def print_searches(results: Dict) -> None:
    """Each search's front (short trainings) and its pick trained fully."""
    unit = results['cost_unit']
    for method in ('study', 'random'):
        (s, ) = results['methods'][method]['searches']
        front = ', '.join(f'{r["cost"]:.4f} {unit}: {r["value"]:.3f}'
                          for r in s['front'])
        print(f'{method} search ({s["epochs"]} epochs, '
              f'{s["seconds"] / 60:.1f} min of training): front {front}')


def print_summary(work_dir: str, row: Dict, metrics: Dict,
                  results: Dict) -> None:
    """The table of the trained network and the study-versus-random
    line."""
    key = results['metric']
    picks = {
        m: results['methods'][m]['searches'][0]['final']
        for m in ('study', 'random')
    }
    print('\n| model | input | params | GFLOPs | AP | AP .5 | AR | search '
          '| train + test | total |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    print(f'| AutoPose-L12-C32 (searched cells) | {row["h"]}x{row["w"]} | '
          f'{row["params"]:.2f}M | {row["gflops"]:.2f} | '
          f'{metrics["coco/AP"]:.3f} | {metrics["coco/AP .5"]:.3f} | '
          f'{metrics["coco/AR"]:.3f} | {row["search_time"] / 60:.1f} min | '
          f'{row["train_time"] / 60:.1f} min | '
          f'{row["total_time"] / 60:.1f} min |')
    print(f'\nstudy search vs random search at the same compute '
          f'({results["budget_epochs"]} epochs each, '
          f'{results["target"]:.4f} {results["cost_unit"]} '
          f'+-{results["tolerance"]:.0%}; picks trained fully in the proxy '
          f'network, {key}): study {picks["study"]["mean"]:.3f}, random '
          f'{picks["random"]["mean"]:.3f}')
    for name in ('front.png', 'architecture.png', 'predictions.png'):
        print(f'  {osp.join(work_dir, name)}')


def main() -> None:
    args = parse_args()
    start = time.time()
    work_dir = args.work_dir

    banner('1/5', 'sample data', start)
    ensure_sample_data()

    banner(
        '2/5', 'study search and random search at the same compute, '
        'their picks trained fully (proxy network)', start)
    t0 = time.time()
    results = search(args, work_dir)
    search_time = time.time() - t0
    genotype = osp.join(work_dir, 'search', 'study_0', 'genotype.json')
    print_searches(results)

    banner(
        '3/5', 'training and evaluating AutoPose-L12-C32 from the '
        'searched genotype', start)
    t0 = time.time()
    ckpt, metrics, model_opts = train_and_evaluate(args, work_dir, genotype)
    train_time = time.time() - t0

    banner('4/5', 'pictures', start)
    params, gflops, (h, w) = pictures(work_dir, genotype, ckpt, model_opts)

    banner('5/5', 'summary', start)
    print_searches(results)
    row = dict(
        h=h,
        w=w,
        params=params,
        gflops=gflops,
        search_time=search_time,
        train_time=train_time,
        total_time=time.time() - start)
    print_summary(work_dir, row, metrics, results)


if __name__ == '__main__':
    main()
