"""Speed and memory of AutoPose, MMPose's HRNet-W32 / Lite-HRNet-18 /
RTMPose-t/s/m and the search supernet, measured in one run on one machine.

    python tools/analysis/benchmark.py [--rows ROW ...] [--batch 8]
        [--shape 256 192] [--warmup 1] [--repeats 3] [--rounds 3]
        [--device cpu|cuda] [--channels-last] [--amp] [--compile]
        [--fuse-conv-bn] [--json out.json]
    python tools/analysis/benchmark.py --latency [--rows ROW ...]
        [--backends eager fused onnxruntime openvino ...] [--threads N]
        [--passes PASS ...] [--profile] [--json out.json]

Every row runs in its own process, built once; the rows are measured in
interleaved rounds (each round measures every row once, in a rotating
order), so that a slow spell of a shared machine hits all rows alike. The
figures are medians over all rounds, and every ratio is also given per
round, as the range of the per-round ratios.

The training table reports per row:

- train img/s: forward, MSE loss on the heatmaps, backward and optimiser
  step (Adam) on a random batch; for a supernet row one *search step*: an
  alpha step (Adam on the architecture weights) plus a weight step (SGD);
  the "weight step" row is the supernet's weight step alone, which shows
  what the alpha step adds, and the "alpha every 2nd step" row the mean
  iteration of a search with ``train_cfg.arch_interval=2``;
- infer img/s without and with flip test (a second, flipped forward);
- peak memory of the training steps: CUDA max allocated on GPU, the growth
  of the process's peak RSS over its size after building the model on CPU;
- parameters and GMACs (conv and linear multiply-adds, batch 1, forward);
- the ratio of train img/s to HRNet-W32's, and the achieved training
  GMAC/s (3 x forward GMACs x train img/s: backward costs about twice the
  forward).

``--latency`` reports instead the batch-1 inference latency (median and p90
ms) of the fixed networks on PyTorch eager, PyTorch with BN folded into the
convolutions, ONNX Runtime and OpenVINO in f32 (CPU; the network exported as
by ``tools/deployment/pytorch2onnx.py``, with the graph passes ``--passes``;
the ``-plain`` backends run the graph as PyTorch exports it, to show what
the passes gain), the ratios to HRNet-W32 and RTMPose-s on every exported
runtime, and where each AutoPose row lies against the latency per GMAC
line through the RTMPose rows on each. ``--profile`` adds, per row and
exported runtime, the share of kernel time in convolutions, the GMACs
per second its convolution and matrix product kernels achieve, and the
largest other operator types (ONNX Runtime's profiler, OpenVINO's
per-layer counters). ``openvino-int8`` runs the exported network
quantized to int8 by ``autopose_mm.deploy.quantize`` (NNCF), every row
calibrated alike on ``--calibration`` crops of the built-in sample data
made by its own test pipeline; with ``openvino`` beside it, the table also
gives each row's int8 / f32 time.

On GPU the times use CUDA events after synchronising. With ``--compile`` the
fixed networks' forward runs through ``torch.compile``; compilation happens
in untimed first steps and its time is printed below the table.
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
from typing import Callable, Dict, List, Optional

from autopose_mm.deploy.graph import DEFAULT_PASSES, GRAPH_PASSES
from autopose_mm.deploy.zoo import (
    BACKEND_NAMES,
    LATENCY_REFERENCE,
    LATENCY_ROWS,
    REFERENCE,
    ROWS,
    TRAINING_ROWS,
    build_model,
    config_path,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

BACKENDS = ('eager', 'fused', 'onnxruntime', 'openvino', 'onnxruntime-plain',
            'openvino-plain', 'openvino-bf16', 'openvino-int8')
DEFAULT_BACKENDS = ('fused', 'onnxruntime', 'openvino')
EXPORTED = ('onnxruntime', 'openvino', 'openvino-int8')


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


class RowBench:
    """One row's model, built once in its own process, measured once per
    round (see :func:`run_rounds`)."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        import torch

        from autopose_mm.utils.complexity import count_macs, count_params
        torch.manual_seed(0)
        self.name, self.args = name, args
        self.search = ROWS[name][2]
        device = args.device
        model = build_model(name, args.shape).to(device)
        h, w = args.shape
        self.info = dict(
            name=name,
            params_m=count_params(model) / 1e6,
            gmacs=count_macs(model, (3, h, w), device=device) / 1e9)
        self.timed = make_timer(device)
        self.model = model
        self.iters_per_call = 1  # training iterations per timed call
        if args.latency:
            self._setup_latency()
        else:
            self._setup_training()

    # training table --------------------------------------------------------
    def _setup_training(self) -> None:
        import torch

        args, model, device = self.args, self.model, self.args.device
        h, w = args.shape
        memory_format = (
            torch.channels_last
            if args.channels_last else torch.contiguous_format)
        model = self.model = model.to(memory_format=memory_format)
        x = torch.randn(
            args.batch, 3, h, w,
            device=device).contiguous(memory_format=memory_format)
        with torch.no_grad():
            out = model._forward(x)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        targets = [torch.rand_like(o) for o in outs]
        amp = torch.autocast(
            device_type=device,
            enabled=args.amp,
            dtype=torch.bfloat16 if device == 'cpu' else torch.float16)
        compiled = args.compile and not self.search
        forward = torch.compile(model._forward) if compiled else model._forward
        if self.search:
            train_step = self._search_step(x, outs)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def train_step() -> None:
                model.zero_grad(set_to_none=True)
                with amp:
                    pred = forward(x)
                    pred = list(pred) if isinstance(pred,
                                                    (list, tuple)) else [pred]
                    loss = sum(((p.float() - t)**2).mean()
                               for p, t in zip(pred, targets))
                loss.backward()
                opt.step()

        self.infer_model = model
        if args.fuse_conv_bn:  # a folded copy for the inference columns
            self.infer_model = fused_copy(model)
        infer_forward = self.infer_model._forward
        if compiled:
            infer_forward = torch.compile(infer_forward)

        def infer(flip: bool) -> Callable[[], None]:

            def run() -> None:
                with torch.no_grad(), amp:
                    infer_forward(x)
                    if flip:
                        infer_forward(x.flip(3))

            return run

        self.train_step, self.infer = train_step, infer
        model.train()
        self.info['compile_s'] = (
            self.timed(train_step) +
            self.timed(infer(False)) if compiled else 0.)
        if device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        self.base_rss = rss_bytes()
        for _ in range(args.warmup):
            self.timed(train_step)
        self.info['peak_mib'] = self._peak_mib(compiled)

    def _search_step(self, x, outs) -> Callable[[], None]:
        """The search model's own step on a batch of ``x`` with random
        target heatmaps: alpha step and weight step
        (``AutoPoseSearchEstimator.search_step``) with the config's
        optimisers; bi-level: under a sampled layout, then a controller
        step."""
        import torch
        from mmengine.config import Config
        from mmengine.structures import InstanceData, PixelData
        from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS
        from mmpose.structures import PoseDataSample
        model = self.model
        cfg = Config.fromfile(config_path(self.name))
        wrapper_cfg = dict(cfg.optim_wrapper)
        constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(
                type=wrapper_cfg.pop('constructor'),
                optim_wrapper_cfg=wrapper_cfg))
        wrappers = constructor(model)
        mean = model.data_preprocessor.mean.view(-1, 1, 1)
        std = model.data_preprocessor.std.view(-1, 1, 1)
        heatmaps = outs[-1]
        samples = []
        for i in range(x.shape[0]):
            sample = PoseDataSample()
            sample.gt_fields = PixelData(heatmaps=torch.rand_like(heatmaps[i]))
            sample.gt_instance_labels = InstanceData(
                keypoint_weights=torch.ones(
                    1, heatmaps.shape[1], device=x.device))
            samples.append(sample)
        images = (x * std + mean).clamp(0, 255)  # what the loader gives
        data = dict(inputs=list(images), data_samples=samples)
        bilevel = model.controller is not None
        # one call: the row's iterations, timed together and reported per
        # iteration; one without an alpha step gets no alpha data
        alphas = ROWS[self.name][2]
        self.iters_per_call = len(alphas)

        def step() -> None:
            for alpha in alphas:
                arch_data = data if alpha else None
                if bilevel:
                    with model.use_layout(model.sample_layout()):
                        model.search_step(data, arch_data, wrappers)
                    model.controller_step(data, wrappers['controller'])
                else:
                    model.search_step(data, arch_data, wrappers)

        return step

    def _peak_mib(self, compiled: bool) -> Optional[float]:
        """Peak memory of the training steps so far."""
        import torch
        if self.args.device == 'cuda':
            return torch.cuda.max_memory_allocated() / 2**20
        if compiled:  # the process's peak RSS may be the compiler's
            return None
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return max(0, peak_rss - self.base_rss) / 2**20

    def _training_round(self) -> Dict[str, List[float]]:
        args = self.args
        self.model.train()
        times = dict(train=[
            self.timed(self.train_step) / self.iters_per_call
            for _ in range(args.repeats)
        ])
        self.model.eval()
        for key, flip in (('infer', False), ('flip', True)):
            run = self.infer(flip)
            times[key] = [self.timed(run) for _ in range(args.repeats)]
        if self.info['peak_mib'] is not None:
            self.info['peak_mib'] = self._peak_mib(False)
        return times

    # latency table ---------------------------------------------------------
    def _setup_latency(self) -> None:
        import tempfile

        import torch

        from autopose_mm.deploy import export_onnx, load_network
        args, model = self.args, self.model.eval()
        h, w = args.shape
        self.x = torch.randn(1, 3, h, w)
        fused = fused_copy(model)
        self.runners: Dict[str, Callable[[], None]] = {}
        self.files: Dict[str, str] = {}  # exported runtime -> its file
        tmp = tempfile.mkdtemp()
        for backend in args.backends:
            if backend == 'eager':
                net = model._forward
            elif backend == 'fused':
                net = fused._forward
            else:
                runtime, _, variant = backend.partition('-')
                plain = variant == 'plain'
                precision = 'bf16' if variant == 'bf16' else 'f32'
                onnx_file = osp.join(tmp, f'{"plain" if plain else "lean"}'
                                     '.onnx')
                if not osp.isfile(onnx_file):
                    export_onnx(
                        model,
                        onnx_file, (h, w),
                        passes=[] if plain else args.passes)
                if variant == 'int8':
                    onnx_file = self._quantized(onnx_file, tmp)
                net = load_network(onnx_file, runtime, args.threads, precision)
                if precision == 'bf16':  # its error against PyTorch
                    self.info['bf16'] = bf16_error(model, net, self.x)
                else:
                    self.files[backend] = onnx_file
            self.runners[backend] = self._runner(net)
        for run in self.runners.values():
            for _ in range(args.warmup):
                run()

    def _quantized(self, onnx_file: str, tmp: str) -> str:
        """The int8 OpenVINO IR of the exported network, calibrated on
        ``--calibration`` crops of the built-in sample data by the row's
        own test pipeline (every row quantized by the same code)."""
        from mmengine.config import Config

        from autopose_mm.deploy import export_openvino
        from autopose_mm.deploy.quantize import (
            quantize_openvino,
            sample_data_crops,
            save_openvino,
        )
        f32 = osp.join(tmp, 'f32.xml')
        export_openvino(onnx_file, f32)
        crops = sample_data_crops(
            Config.fromfile(config_path(self.name)), self.args.calibration,
            self.args.shape)
        quantized, _ = quantize_openvino(f32, crops, log=lambda line: None)
        out = osp.join(tmp, 'int8.xml')
        save_openvino(quantized, out)
        return out

    def profile(self) -> Dict[str, Dict[str, float]]:
        """Kernel ms per operator type, per exported backend."""
        from autopose_mm.deploy.profiling import (
            profile_onnxruntime,
            profile_openvino,
        )
        x = self.x.numpy()
        threads = self.args.threads or os.cpu_count()
        result = {}
        for backend, path in self.files.items():
            fn = (
                profile_openvino
                if backend.startswith('openvino') else profile_onnxruntime)
            result[backend] = fn(path, x, threads)
        return result

    def _runner(self, net) -> Callable[[], None]:
        import torch

        def run() -> None:
            with torch.no_grad():
                net(self.x)

        return run

    def _latency_round(self) -> Dict[str, List[float]]:
        return {
            backend: [self.timed(run) for _ in range(self.args.repeats)]
            for backend, run in self.runners.items()
        }

    def measure_round(self) -> Dict[str, List[float]]:
        """Seconds per call of every measured quantity, ``--repeats``
        calls each."""
        if self.args.latency:
            return self._latency_round()
        return self._training_round()


def bf16_error(model, net, x) -> float:
    """How far ``net`` (OpenVINO in bf16) is from PyTorch on ``x`` and on
    three more random inputs: the largest output difference relative to
    the range of the outputs (the rows' weights are random, so decoded
    keypoints would say nothing; the export tool and the test tool measure
    bf16 on trained weights)."""
    import numpy as np
    import torch
    inputs = torch.cat([x, torch.randn(3, *x.shape[1:])])
    with torch.no_grad():
        ref = model._forward(inputs)
    ref = list(ref) if isinstance(ref, (list, tuple)) else [ref]
    ref = [r.numpy() for r in ref]
    got = [
        np.concatenate(o) for o in zip(*(net.run(inputs[i:i + 1].numpy())
                                         for i in range(len(inputs))))
    ]
    span = max(float(r.max() - r.min()) for r in ref)
    return max(float(np.abs(a - b).max()) for a, b in zip(ref, got)) / span


def fused_copy(model):
    """An eval-mode copy of ``model`` with BN folded into the convolutions
    (AutoPose's own modules, then conv-BN pairs elsewhere)."""
    import copy

    from mmcv.cnn import fuse_conv_bn as fuse_generic

    from autopose_mm.deploy.fusion import fuse_conv_bn
    return fuse_generic(fuse_conv_bn(copy.deepcopy(model).eval()))


def serve(name: str, args: argparse.Namespace) -> None:
    """Worker process of one row: build it, then measure a round whenever
    the driver asks (one line on stdin), answering on stdout."""
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = RowBench(name, args)
    print('READY ' + json.dumps(bench.info), flush=True)
    for line in sys.stdin:
        if line.strip() == 'PROFILE':
            print('PROFILE ' + json.dumps(bench.profile()), flush=True)
            continue
        if line.strip() != 'ROUND':
            break
        times = bench.measure_round()
        print(
            'RESULT ' + json.dumps(dict(info=bench.info, times=times)),
            flush=True)


class Worker:
    """The driver's handle on one row's worker process."""

    def __init__(self, name: str, argv: List[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, __file__, '--worker', name] + argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO)
        self.output: List[str] = []

    def answer(self, prefix: str) -> dict:
        for line in self.proc.stdout:
            if line.startswith(prefix + ' '):
                return json.loads(line[len(prefix) + 1:])
            self.output.append(line)
        self.proc.wait()
        tail = ''.join(self.output)[-3000:]
        raise SystemExit(f'{tail}\nmeasuring {self.name} failed (exit '
                         f'{self.proc.returncode})')

    def ask(self, command: str) -> None:
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.ask('QUIT')
            self.proc.wait(timeout=60)


def run_rounds(args: argparse.Namespace, argv: List[str]) -> List[Dict]:
    """Measure every row in its own process, in interleaved rounds: each
    round measures every row once (the order rotating), so a slow spell of
    the machine hits all rows alike. Returns per row its info and, per
    quantity, the times of every round."""
    workers = []
    try:
        for name in args.rows:  # one at a time: building is not measured
            print(f'building {name} ...', flush=True)
            worker = Worker(name, argv)
            worker.answer('READY')
            workers.append(worker)
        results = {w.name: dict(rounds=[]) for w in workers}
        for r in range(args.rounds):
            print(f'round {r + 1} of {args.rounds} ...', flush=True)
            shift = r % len(workers)
            for worker in workers[shift:] + workers[:shift]:
                worker.ask('ROUND')
                answer = worker.answer('RESULT')
                results[worker.name].update(answer['info'])
                results[worker.name]['rounds'].append(answer['times'])
        if args.profile:
            print('profiling ...', flush=True)
            for worker in workers:  # alone: one profile at a time
                worker.ask('PROFILE')
                results[worker.name]['profile'] = worker.answer('PROFILE')
    finally:
        for worker in workers:
            worker.close()
    return [results[name] for name in args.rows]


def summarise(row: Dict, key: str) -> Dict[str, float]:
    """Median and p90 of all calls, and the per-round medians, in s."""
    import numpy as np
    rounds = [times[key] for times in row['rounds']]
    flat = [t for times in rounds for t in times]
    return dict(
        median=float(np.median(flat)),
        p90=float(np.percentile(flat, 90)),
        per_round=[float(np.median(t)) for t in rounds])


def ratio_spread(row: Dict, ref: Dict, key, faster: bool) -> tuple:
    """The ratio of ``row`` to ``ref`` on the overall medians, and its
    min and max over the rounds (a round compares calls made close in
    time). ``key``: the quantity of both, or a pair (``row``'s, ``ref``'s).
    ``faster``: the ratio of speeds (ref time / row time)."""
    row_key, ref_key = (key, key) if isinstance(key, str) else key
    a, b = summarise(row, row_key), summarise(ref, ref_key)

    def ratio(x: float, y: float) -> float:
        return y / x if faster else x / y

    per_round = [ratio(x, y) for x, y in zip(a['per_round'], b['per_round'])]
    return ratio(a['median'], b['median']), min(per_round), max(per_round)


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


def add_throughputs(rows: List[Dict], args: argparse.Namespace) -> None:
    """``train_ips``, ``infer_ips`` and ``flip_ips`` of every row, from the
    medians over all rounds."""
    for r in rows:
        for key in ('train', 'infer', 'flip'):
            r[f'{key}_ips'] = args.batch / summarise(r, key)['median']


def print_table(rows: List[Dict], args: argparse.Namespace) -> None:
    ref = next((r for r in rows if r['name'] == REFERENCE), None)
    print(f'\nbatch {args.batch}, input {args.shape[0]}x{args.shape[1]}, '
          f'device {args.device}, median of {args.rounds} interleaved '
          f'rounds x {args.repeats} steps after {args.warmup} warm-up; train '
          f'= forward + backward + optimiser step (supernet: alpha step + '
          f'weight step)\n')
    header = ('| model | params | GMACs | train img/s | vs HRNet-W32 | '
              'train GMAC/s | infer img/s | flip-test img/s | peak MiB | '
              'vs HRNet-W32 per round |')
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    for r in rows:
        ratio = spread = 'n/a'
        if ref:
            value, low, high = ratio_spread(r, ref, 'train', faster=True)
            ratio = f'{r["train_ips"] / ref["train_ips"]:.2f}x'
            spread = f'{low:.2f}-{high:.2f}x'
        achieved = 3 * r['gmacs'] * r['train_ips']
        print(f'| {r["name"]} | {r["params_m"]:.2f}M | {r["gmacs"]:.2f} | '
              f'{r["train_ips"]:.2f} | {ratio} | {achieved:.1f} | '
              f'{r["infer_ips"]:.2f} | {r["flip_ips"]:.2f} | ' +
              ('n/a' if r['peak_mib'] is None else f'{r["peak_mib"]:.0f}') +
              f' | {spread} |')
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
            _, low, high = ratio_spread(r, derived, 'train', faster=False)
            print(f'\n{r["name"]} vs the derived AutoPose-L12-C32 (same batch '
                  f'and input): time per step '
                  f'{derived["train_ips"] / r["train_ips"]:.2f}x (rounds '
                  f'{low:.2f}-{high:.2f}x), peak memory {memory}')
    cell = next(
        (r for r in search if r['name'] == 'Cell-search supernet L12-C32 K=4'),
        None)
    for r in search:
        if cell and r['name'].startswith('Bi-level'):
            print(f'{r["name"]}: cost per search epoch (same iterations) '
                  f'{cell["train_ips"] / r["train_ips"]:.2f}x the cell-only '
                  f'search')


def rtmpose_line(rows: List[Dict], backend: str) -> Optional[tuple]:
    """Least-squares line ``ms = a + b * GMACs`` through the RTMPose rows'
    median latencies on ``backend`` (None with fewer than two)."""
    import numpy as np
    points = [(r['gmacs'], r['latency'][backend]['median'] * 1e3) for r in rows
              if r['name'].startswith('RTMPose')]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def print_latency_table(rows: List[Dict], args: argparse.Namespace) -> None:
    for r in rows:
        r['latency'] = {b: summarise(r, b) for b in args.backends}
    refs = [REFERENCE, LATENCY_REFERENCE]
    exported = [b for b in args.backends if b in EXPORTED]
    compared = exported or [args.backends[-1]]
    print(f'\nbatch 1, input {args.shape[0]}x{args.shape[1]}, device '
          f'{args.device}, {args.threads or "default"} threads, f32; ms per '
          f'forward: median and p90 of {args.rounds} interleaved rounds x '
          f'{args.repeats} calls (after {args.warmup} warm-up); graph '
          f'passes {" ".join(args.passes) or "none"}; ratios: median '
          f'latency / the reference\'s, with the range of the per-round '
          f'ratios\n')
    header = '| model | params | GMACs |'
    for b in args.backends:
        header += f' {BACKEND_NAMES[b]} ms (p90) |'
    if 'openvino-bf16' in args.backends:
        header += ' bf16 error (of the output range) |'
    int8_ratio = {'openvino', 'openvino-int8'} <= set(args.backends)
    if int8_ratio:
        header += ' int8 / f32 (OpenVINO) |'
    for b in compared:
        for ref in refs:
            header += f' {BACKEND_NAMES[b]} vs {ref} |'
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    by_name = {r['name']: r for r in rows}
    for r in rows:
        line = f'| {r["name"]} | {r["params_m"]:.2f}M | {r["gmacs"]:.2f} |'
        for b in args.backends:
            lat = r['latency'][b]
            line += f' {lat["median"] * 1e3:.1f} ({lat["p90"] * 1e3:.1f}) |'
        if 'openvino-bf16' in args.backends:
            line += f' {r["bf16"]:.2g} |'
        if int8_ratio:
            value, low, high = ratio_spread(r, r,
                                            ('openvino-int8', 'openvino'),
                                            False)
            r['int8_vs_f32'] = dict(ratio=value, low=low, high=high)
            line += f' {value:.2f}x ({low:.2f}-{high:.2f}) |'
        for b in compared:
            for ref in refs:
                if ref not in by_name:
                    line += ' n/a |'
                    continue
                value, low, high = ratio_spread(r, by_name[ref], b, False)
                r.setdefault('vs', {}).setdefault(b, {})[ref] = dict(
                    ratio=value, low=low, high=high)
                line += f' {value:.2f}x ({low:.2f}-{high:.2f}) |'
        print(line)
    for b in compared:
        print_line_check(rows, b)
    if len(exported) > 1:
        total = {
            b: sum(r['latency'][b]['median'] for r in rows)
            for b in exported
        }
        fastest = min(total, key=total.get)
        print(f'\nfaster runtime over all rows: {BACKEND_NAMES[fastest]} (' +
              ', '.join(f'{BACKEND_NAMES[b]} {total[b] * 1e3:.0f} ms'
                        for b in exported) + ' in all)')
    if any('profile' in r for r in rows):
        print_profiles(rows)


def print_line_check(rows: List[Dict], backend: str) -> None:
    """The RTMPose line on ``backend`` and where each AutoPose row lies."""
    fit = rtmpose_line(rows, backend)
    if not fit:
        return
    a, b = fit
    name = BACKEND_NAMES[backend]
    print(f'\nRTMPose line on {name}: {a:.2f} ms + {b:.2f} ms per GMAC '
          f'(least squares through the RTMPose rows)')
    for r in rows:
        if not r['name'].startswith('AutoPose'):
            continue
        expected = a + b * r['gmacs']
        got = r['latency'][backend]['median'] * 1e3
        r.setdefault('vs_rtmpose_line', {})[backend] = got / expected
        print(f'{r["name"]}: {got:.1f} ms, the line predicts '
              f'{expected:.1f} ms at {r["gmacs"]:.2f} GMACs: ' +
              ('on or below the line' if got <=
               expected else f'{got / expected:.2f}x above the line'))


def print_profiles(rows: List[Dict]) -> None:
    """Per row and exported runtime: kernel ms, the share in convolutions,
    the rate of the multiply-add kernels (the row's GMACs over their kernel
    time, stored as ``mac_gmacs_per_s``) and the four largest other
    operator types."""
    from autopose_mm.deploy.profiling import conv_share, mac_kernel_ms
    print('\nkernel time per forward (profiled runs, after the rounds): '
          'share in convolutions, GMACs per second of the convolution and '
          'matrix product kernels, and the largest other operators\n')
    print('| model | runtime | kernel ms | convolutions | GMAC/s in '
          'multiply-add kernels | largest others |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        for backend, ops in r.get('profile', {}).items():
            total = sum(ops.values())
            mac_ms = mac_kernel_ms(ops)
            rate = '-'  # no convolution or matrix product ran
            if mac_ms:
                gmacs_per_s = r['gmacs'] / (mac_ms / 1e3)
                r.setdefault('mac_gmacs_per_s', {})[backend] = gmacs_per_s
                rate = f'{gmacs_per_s:.0f}'
            others = sorted(
                ((ms, op)
                 for op, ms in ops.items() if 'conv' not in op.lower()),
                reverse=True)[:4]
            print(f'| {r["name"]} | {BACKEND_NAMES[backend]} | {total:.1f} '
                  f'| {conv_share(ops):.0%} | {rate} | ' +
                  ', '.join(f'{op} {ms / total:.0%}'
                            for ms, op in others) + ' |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), metavar='ROW')
    parser.add_argument(
        '--latency',
        action='store_true',
        help='measure batch-1 inference latency on --backends instead of '
        'the training table')
    parser.add_argument(
        '--backends',
        nargs='+',
        default=list(DEFAULT_BACKENDS),
        choices=BACKENDS,
        help='latency backends (default: ' + ' '.join(DEFAULT_BACKENDS) +
        '); the ratios compare the exported ones')
    parser.add_argument(
        '--passes',
        nargs='*',
        default=None,
        choices=GRAPH_PASSES,
        help='graph passes of the exported backends (default: the export '
        'tool\'s, ' + ' '.join(DEFAULT_PASSES) + '; none: give no name)')
    parser.add_argument(
        '--calibration',
        type=int,
        default=100,
        help='openvino-int8: sample-data crops each network is calibrated '
        'on (default 100)')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='with --latency: after the rounds, profile every exported '
        'backend (kernel time per operator type, share in convolutions)')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[256, 192], metavar=('H', 'W'))
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--repeats',
        type=int,
        default=None,
        help='steps (or latency calls) per row and round (default 3; 10 '
        'with --latency)')
    parser.add_argument(
        '--rounds',
        type=int,
        default=3,
        help='interleaved rounds: every row is measured once per round')
    parser.add_argument(
        '--threads', type=int, help='torch and ONNX Runtime threads')
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
    if args.repeats is None:
        args.repeats = 10 if args.latency else 3
    if args.passes is None:
        args.passes = list(DEFAULT_PASSES)
    if args.worker:
        args.rows = [args.worker]
    if args.rows is None:
        args.rows = LATENCY_ROWS if args.latency else TRAINING_ROWS
    supernets = [r for r in args.rows if ROWS[r][2]]
    if args.latency and supernets:
        parser.error(f'--latency measures the fixed networks; leave out '
                     f'{", ".join(supernets)}')
    if args.latency and args.device != 'cpu':
        parser.error('--latency measures the CPU (ONNX Runtime runs on the '
                     'CPU here); pass --device cpu')
    if args.channels_last and supernets:
        parser.error(
            f'--channels-last cannot measure the search supernets '
            f'({", ".join(supernets)}): oneDNN aborts the process ("double '
            f'free or corruption") in their backward pass in channels-last '
            f'layout. Leave out --channels-last, or pick fixed-network rows '
            f'with --rows.')
    if args.worker:
        serve(args.worker, args)
        return
    argv = [a for a in sys.argv[1:]]
    if '--rows' in argv:  # each worker measures one row
        i = argv.index('--rows')
        j = i + 1
        while j < len(argv) and not argv[j].startswith('--'):
            j += 1
        argv = argv[:i] + argv[j:]
    argv += ['--device', args.device]
    start = time.time()
    rows = run_rounds(args, argv)
    pipeline = {}
    if args.latency:
        print_latency_table(rows, args)
    else:
        add_throughputs(rows, args)
        print_table(rows, args)
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
        from autopose_mm.utils.io import atomic_write_text
        atomic_write_text(
            args.json,
            json.dumps(
                dict(settings=vars(args), rows=rows, pipeline_ips=pipeline),
                indent=2,
                allow_nan=False))


if __name__ == '__main__':
    main()
