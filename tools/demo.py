"""The product path on built-in sample data: search, train, test, export,
time, draw.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs N]
                         [--budget-epochs E] [--workers W]
                         [--study-options KEY=VALUE ...]

Each step runs the command a user runs, its full log in the work dir:

1. generate the synthetic COCO-format people once (``data/sample_coco``,
   and the search's own 400 test images);
2. ``tools/search.py``: the whole-network study (cells per scale, width,
   stages and cells) over a GMACs range, each trial trained by rungs and
   pruned within its cost bucket, two worker processes; its accuracy-cost
   front of whole networks is printed;
3. ``tools/train.py``: the front's most accurate network, built from its
   genotype and width with the demo's training recipe (128x96, a short
   schedule);
4. ``tools/test.py``: COCO AP with the detection boxes and flip test;
5. ``tools/deployment/pytorch2onnx.py --openvino``: ONNX and OpenVINO
   files, checked against PyTorch;
6. the OpenVINO model's latency at batch 1 on this machine (2 threads);
7. pictures: ``front.png``, ``architecture.png``, ``predictions.png``.
"""
import argparse
import contextlib
import io
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
import warnings
from typing import List, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
DEMO = osp.join(REPO, 'configs', 'autopose', 'demo')
STUDY_CFG = osp.join(DEMO, 'network_study_sample_coco_128x96.py')
TRAIN_CFG = osp.join(DEMO, 'l12_c32_sample_coco_128x96.py')
DATA_ROOT = 'data/sample_coco/'  # as in the demo configs
STEPS = 7


class Steps:
    """One line per step, with the time since the start."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.start = time.time()
        self.number = 0
        os.makedirs(osp.join(work_dir, 'logs'), exist_ok=True)

    def begin(self, text: str) -> None:
        self.number += 1
        print(
            f'[{time.time() - self.start:5.0f}s] {self.number}/{STEPS} '
            f'{text}',
            flush=True)

    def run(self, name: str, args: Sequence[str]) -> None:
        """Run a tool of this repository with its output in
        ``logs/<name>.log``; on failure show the log's tail and stop."""
        log = osp.join(self.work_dir, 'logs', f'{name}.log')
        with open(log, 'w') as f:
            proc = subprocess.run(
                [sys.executable] + list(args),
                stdout=f,
                stderr=subprocess.STDOUT)
        if proc.returncode:
            with open(log) as f:
                tail = f.read()[-4000:]
            sys.exit(f'{tail}\nerror: {osp.basename(args[0])} failed (exit '
                     f'code {proc.returncode}); its log: {log}')

    def say(self, text: str) -> None:
        print(f'        {text}', flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--epochs',
        type=int,
        default=12,
        help='training epochs of the chosen network (the recipe has 20)')
    parser.add_argument(
        '--budget-epochs',
        type=int,
        default=48,
        help='training epochs the study may spend in all')
    parser.add_argument(
        '--workers', type=int, default=2, help='study worker processes')
    parser.add_argument(
        '--study-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='more --cfg-options for tools/search.py (e.g. '
        'train_cfg.max_epochs=2: shorter trials)')
    return parser.parse_args()


def print_front(pareto: dict, steps: Steps) -> None:
    """The networks of the accuracy-cost front, cheapest first."""
    unit = pareto['cost_unit']
    rec = pareto['studies'][0]
    n = rec['trials']
    steps.say(f'{n["complete"]} networks trained fully, '
              f'{n["pruned"] - rec["outside_window"]} pruned at a rung, '
              f'{rec["outside_window"]} outside the cost range; the front '
              f'({pareto.get("metric", "")} on the search\'s test images '
              f'after the short schedule):')
    steps.say(f'  {unit:>9} {"AP":>6}  network (cells per scale, width, '
              f'stages)')
    for r in pareto['front']:
        steps.say(f'  {r["cost"]:9.4f} {r["value"]:6.3f}  {r["describe"]}')


def network_config(pareto: dict, search_dir: str, out: str) -> str:
    """Write the training config of the front's most accurate network
    (the demo's recipe, the network's genotype, width and stages) to
    ``out``; returns its description."""
    from mmengine.config import Config

    from autopose_mm.search.networks import Network, apply_network
    from autopose_mm.utils.io import atomic_write_text
    best = max(pareto['front'], key=lambda r: r['value'])
    network = Network.from_dict(best['network'])
    cfg = apply_network(Config.fromfile(TRAIN_CFG), network)
    cfg.model.genotype = osp.abspath(
        osp.join(search_dir, best['files']['genotype']))
    atomic_write_text(out, cfg.pretty_text)
    return best['describe']


def time_openvino(xml: str, threads: int = 2) -> float:
    """Median milliseconds of one OpenVINO inference at batch 1."""
    import numpy as np

    from autopose_mm.deploy.runtimes import load_network
    from autopose_mm.deploy.timing import time_runner
    net = load_network(xml, 'openvino', threads)
    x = np.random.default_rng(0).standard_normal((1, 3) + net.input_hw).astype(
        np.float32)
    return time_runner(lambda: net.run(x), repeats=50, min_seconds=1.0)


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
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
    cv2.imwrite(out, np.vstack(rows))


def draw_network(cfg_path: str, out: str) -> tuple:
    """Draw the trained network (its layout, width and cells); returns its
    parameters (M) and GFLOPs."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from autopose_mm.models import Genotype, reductions_to_cells
    from autopose_mm.search.plots import draw_architecture
    from autopose_mm.utils.complexity import count_macs, count_params
    cfg = Config.fromfile(cfg_path)
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    w, h = cfg.codec['input_size']
    backbone = model.backbone
    draw_architecture(
        Genotype.load(cfg.model.genotype),
        out,
        list(
            reductions_to_cells(backbone.num_cells,
                                backbone.reduction_indices)),
        backbone.base_channels,
        cfg.model.neck.num_stages,
        title='the searched network')
    return count_params(model) / 1e6, count_macs(model, (3, h, w)) / 1e9


def main() -> None:
    # a log a person reads: the libraries' deprecation notices stay out
    warnings.simplefilter('ignore', DeprecationWarning)
    warnings.filterwarnings('ignore', message='.*pkg_resources')
    args = parse_args()
    work_dir = args.work_dir
    steps = Steps(work_dir)
    tools = osp.join(REPO, 'tools')

    steps.begin('sample data')
    from autopose_mm.datasets import ensure_sample_data
    from autopose_mm.utils.io import work_dir_lock
    with work_dir_lock(work_dir, 'demo'):
        ensure_sample_data(STUDY_CFG)
        ensure_sample_data(TRAIN_CFG)
        steps.say(f'in {DATA_ROOT} (and the search\'s own test images)')

        steps.begin(f'search: tools/search.py, whole networks, '
                    f'{args.budget_epochs} epochs, {args.workers} workers')
        search_dir = osp.join(work_dir, 'search')
        steps.run('search', [
            osp.join(tools, 'search.py'), STUDY_CFG, '--work-dir', search_dir,
            '--workers',
            str(args.workers), '--cfg-options',
            f'study.budget_epochs={args.budget_epochs}'
        ] + args.study_options)
        with open(osp.join(search_dir, 'pareto.json')) as f:
            pareto = json.load(f)
        print_front(pareto, steps)
        net_cfg = osp.join(work_dir, 'network.py')
        chosen = network_config(pareto, search_dir, net_cfg)
        steps.say(f'chosen: the most accurate, {chosen}: {net_cfg}')

        steps.begin(f'train it: tools/train.py, {args.epochs} epochs')
        train_dir = osp.join(work_dir, 'train')
        steps.run('train', [
            osp.join(tools, 'train.py'), net_cfg, '--work-dir', train_dir,
            '--cfg-options', f'train_cfg.max_epochs={args.epochs}',
            f'train_cfg.val_interval={args.epochs}',
            f'default_hooks.checkpoint.interval={args.epochs}'
        ])
        with open(osp.join(train_dir, 'last_checkpoint')) as f:
            ckpt = f.read().strip()
        steps.say(f'checkpoint: {ckpt}')

        steps.begin('test: tools/test.py (COCO AP, detected boxes, flip)')
        metrics_file = osp.join(work_dir, 'metrics.json')
        steps.run('test', [
            osp.join(tools, 'test.py'), net_cfg, ckpt, '--work-dir',
            osp.join(work_dir, 'test'), '--out', metrics_file
        ])
        with open(metrics_file) as f:
            metrics = json.load(f)
        steps.say(f'AP {metrics["coco/AP"]:.3f}, AP .5 '
                  f'{metrics["coco/AP .5"]:.3f}, AR {metrics["coco/AR"]:.3f}')

        steps.begin('export: tools/deployment/pytorch2onnx.py --openvino')
        onnx_file = osp.join(work_dir, 'export', 'autopose_searched.onnx')
        steps.run('export', [
            osp.join(tools, 'deployment', 'pytorch2onnx.py'), net_cfg, ckpt,
            '--out', onnx_file, '--openvino'
        ])
        xml = osp.splitext(onnx_file)[0] + '.xml'
        steps.say(f'{onnx_file} and {xml}: ONNX Runtime and OpenVINO '
                  f'reproduce PyTorch')

        steps.begin('latency of the OpenVINO model, batch 1, 2 threads')
        ms = time_openvino(xml)
        steps.say(f'{ms:.1f} ms per person crop on this machine')

        steps.begin('pictures')
        params, gflops = draw_network(net_cfg,
                                      osp.join(work_dir, 'architecture.png'))
        shutil.copyfile(
            osp.join(search_dir, 'front.png'), osp.join(work_dir, 'front.png'))
        with contextlib.redirect_stdout(io.StringIO()):  # loading messages
            draw_predictions(net_cfg, ckpt,
                             osp.join(work_dir, 'predictions.png'))
        summary = dict(
            network=chosen,
            config=net_cfg,
            checkpoint=ckpt,
            params_m=params,
            gflops=gflops,
            metrics=metrics,
            openvino_ms=ms,
            seconds=time.time() - steps.start)
        from autopose_mm.utils.io import write_json
        write_json(osp.join(work_dir, 'summary.json'), summary, indent=1)

    print(f'\n| model | input | params | GFLOPs | AP | AR | OpenVINO ms | '
          f'total |\n|---|---|---|---|---|---|---|---|\n'
          f'| searched: {chosen} | 128x96 | {params:.2f}M | '
          f'{gflops:.2f} | {metrics["coco/AP"]:.3f} | '
          f'{metrics["coco/AR"]:.3f} | {ms:.1f} | '
          f'{summary["seconds"] / 60:.1f} min |')
    for name in ('front.png', 'architecture.png', 'predictions.png',
                 'summary.json', 'logs/'):
        print(f'  {osp.join(work_dir, name)}')


if __name__ == '__main__':
    main()
