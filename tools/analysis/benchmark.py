"""Speed and memory of AutoPose, MMPose's HRNet-W32 / Lite-HRNet-18 and the
search supernet, measured in one run on one machine.

    python tools/analysis/benchmark.py [--rows ROW ...] [--batch 8]
        [--shape 256 192] [--warmup 1] [--repeats 3] [--device cpu|cuda]
        [--channels-last] [--amp] [--compile] [--fuse-conv-bn]
        [--json out.json]

Per row it reports:

- train img/s: forward, MSE loss on the heatmaps, backward and optimiser
  step (Adam) on a random batch; for a supernet row one *search step*: an
  alpha step (Adam on the architecture weights) plus a weight step (SGD);
- infer img/s without and with flip test (a second, flipped forward);
- peak memory of the training steps: CUDA max allocated on GPU, the growth
  of the process's peak RSS over its size after building the model on CPU
  (each row runs in its own process);
- parameters and GMACs (conv and linear multiply-adds, batch 1, forward);
- the ratio of train img/s to HRNet-W32's, and the achieved training
  GMAC/s (3 x forward GMACs x train img/s: backward costs about twice the
  forward).

Times are medians over ``--repeats`` after ``--warmup`` steps; on GPU they
use CUDA events after synchronising. With ``--compile`` the fixed networks'
forward runs through ``torch.compile``; compilation happens in untimed first
steps and its time is printed below the table.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMPOSE_COCO = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/'

# row name -> (config, overrides, search step?)
ROWS: Dict[str, tuple] = {
    'AutoPose-L12-C32':
    ('configs/autopose/l12_c32_coco_256x192.py', 'stage1', False),
    'AutoPose-L12-C32 2-stage': ('configs/autopose/l12_c32_coco_256x192.py',
                                 None, False),
    'AutoPose-L18-C48': ('configs/autopose/l18_c48_coco_256x192.py', 'stage1',
                         False),
    'AutoPose-L18-C48 2-stage': ('configs/autopose/l18_c48_coco_256x192.py',
                                 None, False),
    'AutoPose-L18-C64': ('configs/autopose/l18_c64_coco_256x192.py', 'stage1',
                         False),
    'AutoPose-L18-C64 2-stage': ('configs/autopose/l18_c64_coco_256x192.py',
                                 None, False),
    'HRNet-W32': (MMPOSE_COCO + 'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
                  None, False),
    'Lite-HRNet-18':
    (MMPOSE_COCO + 'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py', None,
     False),
    'Cell-search supernet L12-C32 K=4':
    ('configs/autopose/search/search_l12_c32_coco_256x192.py', None, True),
    'Bi-level supernet C32 L=12 K=4':
    ('configs/autopose/search/bilevel_search_c32_coco_256x192.py', None, True),
}
REFERENCE = 'HRNet-W32'


def build_model(name: str):
    """Build a row's model from its config, with ``init_cfg=None``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import autopose_mm  # noqa: F401
    path, variant, _ = ROWS[name]
    if path.startswith('mmpose::'):  # a config shipped inside mmpose
        import mmpose
        path = osp.join(
            osp.dirname(mmpose.__file__), '.mim', 'configs',
            path[len('mmpose::'):])
    cfg = Config.fromfile(osp.join(REPO, path))
    init_default_scope('mmpose')
    model_cfg = cfg.model
    model_cfg.backbone.init_cfg = None
    if variant == 'stage1':
        model_cfg.neck.num_stages = 1
        head = dict(model_cfg.head)
        head.pop('num_stages')
        model_cfg.head = dict(head, type='HeatmapHead')
    return MODELS.build(model_cfg)


def make_timer(device: str) -> Callable[[Callable[[], None]], float]:
    import torch

    def timed(fn: Callable[[], None]) -> float:
        if device == 'cuda':
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    return timed


def rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def measure(name: str, args: argparse.Namespace) -> Dict:
    """Measure one row in this process."""
    import torch

    from autopose_mm.models import arch_modules
    from autopose_mm.utils.complexity import count_macs, count_params
    torch.manual_seed(0)
    device = args.device
    model = build_model(name).to(device)
    h, w = args.shape
    gmacs = count_macs(model, (3, h, w), device=device) / 1e9
    params = count_params(model) / 1e6
    memory_format = (
        torch.channels_last if args.channels_last else torch.contiguous_format)
    model = model.to(memory_format=memory_format)
    x = torch.randn(
        args.batch, 3, h, w,
        device=device).contiguous(memory_format=memory_format)
    with torch.no_grad():
        out = model._forward(x)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    targets = [torch.rand_like(o) for o in outs]
    arch = [p for m in arch_modules(model) for p in m.parameters()]
    arch_ids = {id(p) for p in arch}
    weights = [p for p in model.parameters() if id(p) not in arch_ids]
    search = ROWS[name][2]
    if search:
        opt_w = torch.optim.SGD(weights, lr=1e-3, momentum=0.9)
        opt_a = torch.optim.Adam(arch, lr=4e-4, betas=(0.5, 0.999))
    else:
        opt_w = torch.optim.Adam(weights, lr=1e-3)
    amp = torch.autocast(
        device_type=device,
        enabled=args.amp,
        dtype=torch.bfloat16 if device == 'cpu' else torch.float16)

    compiled = args.compile and not search
    forward = torch.compile(model._forward) if compiled else model._forward

    def update(optimizer, params=None) -> None:
        model.zero_grad(set_to_none=True)
        with amp:
            pred = forward(x)
            pred = list(pred) if isinstance(pred, (list, tuple)) else [pred]
            loss = sum(
                ((p.float() - t)**2).mean() for p, t in zip(pred, targets))
        loss.backward(inputs=params)
        optimizer.step()

    controller = getattr(model.backbone, 'controller', None)

    def train_step() -> None:
        if controller is not None:  # as BiLevelSearchLoop
            model.backbone.active_layout = controller.space.layouts[
                controller.sample()]
        if search:  # as CellSearchLoop: the alpha step computes alpha grads
            update(opt_a, arch)
        update(opt_w)
        if controller is not None:  # the controller's reward forward
            model.backbone.active_layout = controller.space.layouts[
                controller.sample()]
            with torch.no_grad():
                model._forward(x)
            model.backbone.active_layout = None

    def infer(flip: bool) -> Callable[[], None]:

        def run() -> None:
            with torch.no_grad(), amp:
                forward(x)
                if flip:
                    forward(x.flip(3))

        return run

    timed = make_timer(device)
    model.train()
    compile_s = timed(train_step) if compiled else 0.  # before base_rss
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    base_rss = rss_bytes()
    train_times = [
        timed(train_step) for _ in range(args.warmup + args.repeats)
    ]
    if device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**20
    elif compiled:  # the process's peak RSS may be the compiler's
        peak = None
    else:
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = max(0, peak_rss - base_rss) / 2**20
    model.eval()
    if args.fuse_conv_bn:
        from mmcv.cnn import fuse_conv_bn as fuse_generic

        from autopose_mm.utils.fusion import fuse_conv_bn
        # AutoPose's own modules first, then conv-bn children elsewhere
        model = fuse_generic(fuse_conv_bn(model))
    if compiled:  # eval mode (and fused BN) is a new graph
        compile_s += timed(infer(False))
    results = dict(
        name=name,
        params_m=params,
        gmacs=gmacs,
        peak_mib=peak,
        compile_s=compile_s)
    results['train_ips'] = args.batch / statistics.median(
        train_times[args.warmup:])
    for key, flip in (('infer_ips', False), ('flip_ips', True)):
        times = [timed(infer(flip)) for _ in range(args.warmup + args.repeats)]
        results[key] = args.batch / statistics.median(times[args.warmup:])
    return results


def measure_pipeline(workers: int, args: argparse.Namespace) -> float:
    """Images per second of the COCO training pipeline (256x192 AutoPose
    config) on generated sample data, with ``workers`` loader processes."""
    import tempfile

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import autopose_mm  # noqa: F401
    from autopose_mm.datasets import generate_coco
    root = osp.join(tempfile.gettempdir(), 'autopose_mm_bench_data')
    if not osp.isfile(
            osp.join(root, 'annotations', 'person_keypoints_train2017.json')):
        generate_coco(root, num_train=100, num_val=2, seed=0)
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/autopose/l12_c32_coco_256x192.py'))
    init_default_scope('mmpose')
    loader_cfg = cfg.train_dataloader
    loader_cfg.dataset.data_root = root
    loader_cfg.batch_size = args.batch
    loader_cfg.num_workers = workers
    loader_cfg.persistent_workers = workers > 0
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    it = iter(loader)
    next(it)  # start the workers
    count, t0 = 0, time.perf_counter()
    for _ in range(args.pipeline_batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        count += len(batch['inputs'])
    return count / (time.perf_counter() - t0)


def print_table(rows: List[Dict], args: argparse.Namespace) -> None:
    ref = next((r for r in rows if r['name'] == REFERENCE), None)
    print(f'\nbatch {args.batch}, input {args.shape[0]}x{args.shape[1]}, '
          f'device {args.device}, median of {args.repeats} after '
          f'{args.warmup} warm-up; train = forward + backward + optimiser '
          f'step (supernet: alpha step + weight step)\n')
    header = ('| model | params | GMACs | train img/s | vs HRNet-W32 | '
              'train GMAC/s | infer img/s | flip-test img/s | peak MiB |')
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    for r in rows:
        ratio = (f'{r["train_ips"] / ref["train_ips"]:.2f}x' if ref else 'n/a')
        achieved = 3 * r['gmacs'] * r['train_ips']
        print(f'| {r["name"]} | {r["params_m"]:.2f}M | {r["gmacs"]:.2f} | '
              f'{r["train_ips"]:.2f} | {ratio} | {achieved:.1f} | '
              f'{r["infer_ips"]:.2f} | {r["flip_ips"]:.2f} | ' +
              ('n/a' if r['peak_mib'] is None else f'{r["peak_mib"]:.0f}') +
              ' |')
    if args.compile:
        print('\ntorch.compile time (first training and inference steps, '
              'not in the figures above; supernet rows run eager): ' +
              ', '.join(f'{r["name"]} {r["compile_s"]:.0f}s'
                        for r in rows if r['compile_s']))
    search = [r for r in rows if ROWS[r['name']][2]]
    derived = next((r for r in rows if r['name'] == 'AutoPose-L12-C32'), None)
    for r in search:
        if derived:
            memory = ('n/a' if derived['peak_mib'] is None else
                      f'{r["peak_mib"] / max(derived["peak_mib"], 1e-6):.2f}x')
            print(f'\n{r["name"]} vs the derived AutoPose-L12-C32 (same batch '
                  f'and input): time per step '
                  f'{derived["train_ips"] / r["train_ips"]:.2f}x, peak memory '
                  f'{memory}')
    cell = next((r for r in search if r['name'].startswith('Cell')), None)
    for r in search:
        if cell and r is not cell:
            print(f'{r["name"]}: cost per search epoch (same iterations) '
                  f'{cell["train_ips"] / r["train_ips"]:.2f}x the cell-only '
                  f'search')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--rows',
        nargs='+',
        default=list(ROWS),
        choices=list(ROWS),
        metavar='ROW')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[256, 192], metavar=('H', 'W'))
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default=None, choices=['cpu', 'cuda'])
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='run the fixed networks through torch.compile (minutes of '
        'compilation per row on a small CPU); supernet rows stay eager')
    parser.add_argument(
        '--fuse-conv-bn',
        action='store_true',
        help='fold BN into the preceding convs for the inference columns')
    parser.add_argument(
        '--pipeline-workers',
        type=int,
        nargs='*',
        default=[0, 2],
        help='measure the training data pipeline with these worker counts')
    parser.add_argument('--pipeline-batches', type=int, default=20)
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    supernets = [r for r in args.rows if ROWS[r][2]]
    if args.channels_last and supernets:
        parser.error(
            f'--channels-last cannot measure the search supernets '
            f'({", ".join(supernets)}): oneDNN aborts the process ("double '
            f'free or corruption") in their backward pass in channels-last '
            f'layout. Leave out --channels-last, or pick fixed-network rows '
            f'with --rows.')
    if args.worker:
        print('RESULT ' + json.dumps(measure(args.worker, args)))
        return
    rows = []
    passthrough = [a for a in sys.argv[1:]]
    if '--rows' in passthrough:  # each worker measures one row
        i = passthrough.index('--rows')
        j = i + 1
        while j < len(passthrough) and not passthrough[j].startswith('--'):
            j += 1
        passthrough = passthrough[:i] + passthrough[j:]
    start = time.time()
    for name in args.rows:
        print(f'measuring {name} ...', flush=True)
        proc = subprocess.run(
            [
                sys.executable, __file__, '--worker', name, '--device',
                args.device
            ] + passthrough,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO)
        line = [
            ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')
        ]
        if proc.returncode or not line:
            print(proc.stdout[-3000:])
            raise SystemExit(f'measuring {name} failed')
        rows.append(json.loads(line[-1][len('RESULT '):]))
    print_table(rows, args)
    pipeline = {}
    for workers in args.pipeline_workers:
        pipeline[workers] = measure_pipeline(workers, args)
    if pipeline:
        print('\nCOCO training pipeline (256x192, sample data) against what '
              'the models consume in training:')
        print('| loader workers | pipeline img/s |')
        print('|---|---|')
        for workers, ips in pipeline.items():
            print(f'| {workers} | {ips:.1f} |')
        fastest = max(rows, key=lambda r: r['train_ips'])
        print(f'The fastest model here ({fastest["name"]}) consumes '
              f'{fastest["train_ips"]:.1f} img/s: with '
              f'{max(pipeline, key=pipeline.get)} workers the ' +
              ('pipeline keeps up.' if max(pipeline.values()) >=
               fastest['train_ips'] else 'pipeline limits training.'))
    print(f'\n(total {time.time() - start:.0f}s)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(settings=vars(args), rows=rows, pipeline_ips=pipeline),
                f,
                indent=2)


if __name__ == '__main__':
    main()
