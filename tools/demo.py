"""The product path on built-in sample data: search, train, test, export,
time, draw.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs N]
                         [--budget-epochs E] [--workers W]
                         [--study-options KEY=VALUE ...]

Each step runs the command a user runs, its full log in the work dir:

1. generate the synthetic COCO-format people once (``data/sample_coco``,
   and the search's own 400 test images);
2. ``tools/search.py``: the Optuna study of the cells in the small proxy
   network at three cost targets, each trial trained by rungs and pruned,
   two worker processes; its accuracy-cost front is printed;
3. ``tools/train.py``: AutoPose-L12-C32 built from the best cells of the
   middle target (stage 1, 128x96, a short schedule);
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
STUDY_CFG = osp.join(DEMO, 'study_l6_c16_sample_coco_128x96.py')
TRAIN_CFG = osp.join(DEMO, 'l12_c32_sample_coco_128x96.py')
DATA_ROOT = 'data/sample_coco/'  # as in the demo configs
STEPS = 7
# the three cost targets, as fractions of the median cost of random cells
TARGET_SCALES = (0.8, 1.0, 1.25)


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
        help='training epochs of AutoPose-L12-C32 (the config has 20)')
    parser.add_argument(
        '--budget-epochs',
        type=int,
        default=16,
        help='training epochs the study may spend per cost target')
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


def search_targets() -> List[float]:
    """Three GMACs targets around the median cost of random cells."""
    from autopose_mm.search.study import resolve_targets, spec_from_config
    spec = resolve_targets(spec_from_config(STUDY_CFG, 'unused'))
    median = spec.targets[0]
    return [round(median * s, 5) for s in TARGET_SCALES]


def print_front(pareto: dict, steps: Steps) -> None:
    """The best network of each target, those on the front marked."""
    unit = pareto['cost_unit']
    on_front = {(r['study'], r['trial']) for r in pareto['front']}
    steps.say(f'best network of each target ({pareto.get("metric", "")} on '
              f'the search\'s test images after the short schedule; * on '
              f'the accuracy-cost front):')
    steps.say(f'  {"target":>9} {unit:>9} {"AP":>6}  trials')
    for rec in pareto['studies']:
        best = rec['best']
        mark = '*' if (rec['study'], best['trial']) in on_front else ' '
        n = rec['trials']
        steps.say(f'  {rec["target"]:9.4f} {best["cost"]:9.4f} '
                  f'{best["value"]:6.3f}{mark} {n["complete"]} finished, '
                  f'{n["pruned"] - rec["outside_window"]} pruned, '
                  f'{rec["outside_window"]} outside the cost window')


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
                     genotype: str,
                     out: str,
                     num_images: int = 8) -> None:
    """Draw the predicted skeletons of the detected people on the first
    validation images, with MMPose's own visualiser."""
    import cv2
    import numpy as np
    from mmpose.apis import inference_topdown, init_model
    from mmpose.structures import merge_data_samples
    from mmpose.visualization import PoseLocalVisualizer
    model = init_model(
        cfg_path,
        ckpt,
        device='cpu',
        cfg_options=dict(model=dict(genotype=genotype)))
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


def draw_network(genotype: str, out: str) -> tuple:
    """Draw the cells in the trained network; returns its parameters (M)
    and GFLOPs."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from autopose_mm.models import Genotype, reductions_to_cells
    from autopose_mm.search.plots import draw_architecture
    from autopose_mm.utils.complexity import count_macs, count_params
    cfg = Config.fromfile(TRAIN_CFG)
    cfg.model.genotype = genotype
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    w, h = cfg.codec['input_size']
    backbone = model.backbone
    draw_architecture(
        Genotype.load(genotype),
        out,
        list(
            reductions_to_cells(backbone.num_cells,
                                backbone.reduction_indices)),
        backbone.base_channels,
        cfg.model.neck.num_stages,
        title='searched cells in AutoPose-L12-C32')
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

        targets = search_targets()
        steps.begin(f'search: tools/search.py, targets {targets} GMACs, '
                    f'{args.budget_epochs} epochs each, {args.workers} '
                    f'workers')
        search_dir = osp.join(work_dir, 'search')
        steps.run('search', [
            osp.join(tools, 'search.py'), STUDY_CFG, '--work-dir', search_dir,
            '--workers',
            str(args.workers), '--cfg-options',
            f'study.budget_epochs={args.budget_epochs}',
            f'study.targets=[{",".join(str(t) for t in targets)}]'
        ] + args.study_options)
        with open(osp.join(search_dir, 'pareto.json')) as f:
            pareto = json.load(f)
        print_front(pareto, steps)
        # the best network of the middle target
        middle = pareto['studies'][len(pareto['studies']) // 2]['study']
        genotype = osp.join(search_dir, 'genotypes', f'{middle}.json')
        steps.say(f'chosen cells: {genotype}')

        steps.begin(f'train AutoPose-L12-C32 with these cells: '
                    f'tools/train.py, {args.epochs} epochs')
        train_dir = osp.join(work_dir, 'train')
        steps.run('train', [
            osp.join(tools, 'train.py'), TRAIN_CFG, '--work-dir', train_dir,
            '--cfg-options', f'model.genotype={genotype}',
            f'train_cfg.max_epochs={args.epochs}',
            f'train_cfg.val_interval={args.epochs}',
            f'default_hooks.checkpoint.interval={args.epochs}'
        ])
        with open(osp.join(train_dir, 'last_checkpoint')) as f:
            ckpt = f.read().strip()
        steps.say(f'checkpoint: {ckpt}')

        steps.begin('test: tools/test.py (COCO AP, detected boxes, flip)')
        metrics_file = osp.join(work_dir, 'metrics.json')
        steps.run('test', [
            osp.join(tools, 'test.py'), TRAIN_CFG, ckpt, '--work-dir',
            osp.join(work_dir, 'test'), '--out', metrics_file, '--cfg-options',
            f'model.genotype={genotype}'
        ])
        with open(metrics_file) as f:
            metrics = json.load(f)
        steps.say(f'AP {metrics["coco/AP"]:.3f}, AP .5 '
                  f'{metrics["coco/AP .5"]:.3f}, AR {metrics["coco/AR"]:.3f}')

        steps.begin('export: tools/deployment/pytorch2onnx.py --openvino')
        onnx_file = osp.join(work_dir, 'export', 'autopose_l12_c32.onnx')
        steps.run('export', [
            osp.join(tools, 'deployment', 'pytorch2onnx.py'), TRAIN_CFG, ckpt,
            '--out', onnx_file, '--openvino'
        ])
        xml = osp.splitext(onnx_file)[0] + '.xml'
        steps.say(f'{onnx_file} and {xml}: ONNX Runtime and OpenVINO '
                  f'reproduce PyTorch')

        steps.begin('latency of the OpenVINO model, batch 1, 2 threads')
        ms = time_openvino(xml)
        steps.say(f'{ms:.1f} ms per person crop on this machine')

        steps.begin('pictures')
        params, gflops = draw_network(genotype,
                                      osp.join(work_dir, 'architecture.png'))
        shutil.copyfile(
            osp.join(search_dir, 'front.png'), osp.join(work_dir, 'front.png'))
        with contextlib.redirect_stdout(io.StringIO()):  # loading messages
            draw_predictions(TRAIN_CFG, ckpt, genotype,
                             osp.join(work_dir, 'predictions.png'))
        summary = dict(
            genotype=genotype,
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
          f'| AutoPose-L12-C32 (searched cells) | 128x96 | {params:.2f}M | '
          f'{gflops:.2f} | {metrics["coco/AP"]:.3f} | '
          f'{metrics["coco/AR"]:.3f} | {ms:.1f} | '
          f'{summary["seconds"] / 60:.1f} min |')
    for name in ('front.png', 'architecture.png', 'predictions.png',
                 'summary.json', 'logs/'):
        print(f'  {osp.join(work_dir, name)}')


if __name__ == '__main__':
    main()
