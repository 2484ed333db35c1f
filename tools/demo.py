"""The end-to-end demo on built-in sample data: search, train, evaluate, show.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs N]

1. generate the synthetic COCO-format people (once, into data/sample_coco);
2. search the cells with the sample-data search config (6-cell supernet);
3. train AutoPose-L12-C32 built from the searched genotype (the real
   network at stage 1 and 128x96, with the sample data and a short
   schedule, to fit 15 CPU minutes);
4. evaluate COCO AP with the detection boxes and flip test;
5. compare the searched cells with random cells of equal cost: the small
   proxy network of ``tools/analysis/search_vs_random.py`` trained with the
   searched cells and with a few random genotypes of the same GMACs;
6. print how far the search moved the operation weights from uniform, a
   results table, and write pictures to the work dir:
   ``architecture.png`` (the found cells and the network),
   ``search_curves.png`` (operation weights and losses of the search) and
   ``predictions.png`` (predicted skeletons on validation images).
"""
import argparse
import json
import os.path as osp
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')
SEARCH_CFG = osp.join(DEMO, 'search_l6_c16_sample_coco_64x48.py')
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


def search(args, work_dir: str) -> str:
    """Run the tiny cell search; returns the genotype file."""
    search_dir = osp.join(work_dir, 'search')
    opts = []
    if args.search_epochs:
        opts = [
            '--cfg-options', f'train_cfg.max_epochs={args.search_epochs}',
            f'train_cfg.warmup_epochs={args.search_epochs // 2}'
        ]
    run([
        osp.join(REPO, 'tools', 'train.py'), SEARCH_CFG, '--work-dir',
        search_dir
    ] + opts)
    return osp.join(search_dir, 'genotype.json')


def print_movement(search_dir: str) -> None:
    """Print, per cell type, how far the operation weights left uniform."""
    sys.path.insert(0, REPO)
    from autopose_mm.search.stats import history_movement
    with open(osp.join(search_dir, 'search_history.json')) as f:
        rows = history_movement(json.load(f))
    first, last = rows[0], rows[-1]
    print('operation weights after the search (1.00x = uniform):')
    for cell, m in last['cells'].items():
        print(f'  {cell:24s} strongest op on an edge '
              f'{m["max_over_uniform"]:.2f}x uniform on average '
              f'(epoch {first["epoch"]}: '
              f'{first["cells"][cell]["max_over_uniform"]:.2f}x), '
              f'entropy {m["entropy"]:.3f} of uniform')


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


def versus_random(args, work_dir: str, genotype: str) -> dict:
    """Searched cells against ``args.random`` random genotypes of equal
    GMACs, in the proxy network; returns the tool's cell results."""
    out_dir = osp.join(work_dir, 'vs_random')
    cmd = [
        osp.join(REPO, 'tools', 'analysis', 'search_vs_random.py'),
        '--genotypes', genotype, '--num-random',
        str(args.random), '--bilevel-config', 'none', '--train-config',
        PROXY_CFG, '--no-published', '--train-epochs',
        str(args.proxy_epochs), '--train-seeds', '1', '--jobs', '2',
        '--work-dir', out_dir
    ]
    run(cmd)
    with open(osp.join(out_dir, 'results.json')) as f:
        return json.load(f)['cells']


def pictures(work_dir: str, genotype: str, ckpt: str,
             model_opts: List[str]) -> tuple:
    """Draw the architecture and the predictions; returns the model's
    parameters (M), GFLOPs and input size."""
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
        osp.join(osp.dirname(genotype), 'search_curves.png'),
        osp.join(work_dir, 'search_curves.png'))
    draw_predictions(cfg, ckpt, osp.join(work_dir, 'predictions.png'))
    return params, gflops, (h, w)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--epochs', type=int, help='override the training schedule length')
    parser.add_argument(
        '--search-epochs',
        type=int,
        help='override the search schedule length (half of it warm-up)')
    parser.add_argument(
        '--random',
        type=int,
        default=3,
        help='random genotypes the searched cells are '
        'compared with')
    parser.add_argument(
        '--proxy-epochs',
        type=int,
        default=20,
        help='schedule length of the proxy networks')
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


def print_summary(work_dir: str, row: Dict, metrics: Dict, vs: Dict) -> None:
    """The table of the trained network and the searched-versus-random
    line."""
    key = vs['metric']
    proxy = {
        g: [e['metrics'][key] for e in vs['entries'] if e['group'] == g]
        for g in ('searched', 'random')
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
    print(f'\nsearched vs random cells of equal cost '
          f'({vs["gmacs_target"]:.3f} GMACs, proxy network, {key}): '
          f'searched {proxy["searched"][0]:.3f}, random median '
          f'{statistics.median(proxy["random"]):.3f} '
          f'(n={len(proxy["random"])}: '
          f'{", ".join(f"{v:.3f}" for v in sorted(proxy["random"]))})')
    for name in ('architecture.png', 'search_curves.png', 'predictions.png'):
        print(f'  {osp.join(work_dir, name)}')


def main() -> None:
    args = parse_args()
    start = time.time()
    work_dir = args.work_dir

    banner('1/6', 'sample data', start)
    ensure_sample_data()

    banner('2/6', 'cell search (L6-C16 supernet at 64x48)', start)
    t0 = time.time()
    genotype = search(args, work_dir)
    search_time = time.time() - t0
    print_movement(osp.dirname(genotype))

    banner(
        '3/6', 'training and evaluating AutoPose-L12-C32 from the '
        'searched genotype', start)
    t0 = time.time()
    ckpt, metrics, model_opts = train_and_evaluate(args, work_dir, genotype)
    train_time = time.time() - t0

    banner(
        '4/6', f'searched vs {args.random} random cells of equal cost '
        '(proxy network)', start)
    vs = versus_random(args, work_dir, genotype)

    banner('5/6', 'pictures', start)
    params, gflops, (h, w) = pictures(work_dir, genotype, ckpt, model_opts)

    banner('6/6', 'summary', start)
    print_movement(osp.dirname(genotype))
    row = dict(
        h=h,
        w=w,
        params=params,
        gflops=gflops,
        search_time=search_time,
        train_time=train_time,
        total_time=time.time() - start)
    print_summary(work_dir, row, metrics, vs)


if __name__ == '__main__':
    main()
