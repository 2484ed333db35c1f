"""Build the latency lookup table of this machine for a search space, and
validate the latency it predicts against whole networks measured end to
end.

    python tools/analysis/latency_table.py [--config SEARCH_CONFIG]
        [--runtime eager|fused|onnxruntime|openvino] [--precision int8]
        [--threads N]
        [--channels C] [--input-size H W] [--out TABLE.json]
        [--calibrate N] [--validate N]
    python tools/analysis/latency_table.py --out TABLE.json \
        --measure GENOTYPE.json [GENOTYPE.json ...]

The search space (the layouts, candidates and nodes) comes from the search
config's backbone (a bi-level search), or from its ``study.space`` (a
whole-network study: every layout of the space, one table per width with
``--channels``); the width and input size default to the config's and
are usually set to those of the network to deploy. The tool:

1. measures the batch-1 latency of every block a network of the space can
   contain (each candidate operation at each width, size and stride; the
   stem, the cells' projections and sums, the decoder cells, the head) in
   ``--rounds`` interleaved rounds, each entry the fastest of its rounds,
   writing the table after each measurement: run the same command again to
   resume an interrupted build;
2. measures ``--calibrate`` random networks and ``--validate`` other ones
   end to end, all in ``--rounds`` interleaved rounds (each the fastest
   of its rounds), fits the correction ``measured = scale * block sum +
   offset`` on the first;
3. prints the mean absolute percentage error of the plain block sum and
   of the corrected prediction on the others.

``--measure`` instead builds each searched network (a genotype file with a
network level) at the table's width and input size, measures it end to end
with the table's runtime and prints a row per file: the budget recorded in
the file, the table's prediction, the measured latency and the GMACs.

A table describes one machine and runtime: a search that reads a table
measured elsewhere warns (or, with ``latency_check='error'``, refuses).
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch
from mmengine.config import Config

import autopose_mm  # noqa: F401
from autopose_mm.deploy.timing import (
    RUNTIMES,
    environment,
    fastest_round,
    make_runner,
    time_rounds,
)
from autopose_mm.models import OPERATION_NAMES, Genotype, load_genotype
from autopose_mm.search.costs import (
    ENTRY,
    TABLE_FORMAT,
    LatencyTable,
    analytic_macs,
    build_network,
    measure_networks,
    measure_table,
    random_networks,
    space_blocks,
    validate,
)
from autopose_mm.search.networks import NetworkSpace
from autopose_mm.search.space import LayoutSpace
from autopose_mm.utils.cli import add_shape_arg, input_size

# a validation error above this (in percent) makes the table loose for a search
POOR_MAPE_PCT = 25

DEFAULT_CONFIG = ('configs/autopose/demo/'
                  'bilevel_search_tiny_sample_coco_64x48.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build and validate a latency lookup table')
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIG,
        help='search config whose space the table covers (default: the '
        'tiny bi-level search on the sample data)')
    parser.add_argument('--runtime', choices=RUNTIMES, default='onnxruntime')
    parser.add_argument(
        '--precision',
        choices=['f32', 'int8'],
        default='f32',
        help='int8 (with --runtime openvino): every block and network '
        'quantized by NNCF as tools/deployment/quantize.py does (the '
        'runtime openvino-int8)')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='intra-op threads of the runtime (default 1)')
    parser.add_argument(
        '--channels',
        type=int,
        help='C of the deployed network (default: the config\'s)')
    add_shape_arg(parser, '--input-size', 'input size of the deployed '
                  'network')
    parser.add_argument(
        '--out',
        help='table file (default: work_dirs/latency/'
        '<runtime>_c<C>_<H>x<W>.json)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=20,
        help='timed calls per block and network (at least 0.2 s of them)')
    parser.add_argument(
        '--calibrate',
        type=int,
        default=10,
        help='random networks measured to fit the correction')
    parser.add_argument(
        '--validate',
        type=int,
        default=20,
        help='other random networks measured to validate the prediction')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--rounds',
        type=int,
        help='interleaved rounds (default 5): of the blocks and networks '
        'when building, of the networks with --measure')
    parser.add_argument(
        '--measure',
        nargs='+',
        metavar='GENOTYPE',
        help='measure these searched networks against the table --out')
    args = parser.parse_args(argv)
    if args.precision == 'int8':
        if args.runtime not in ('openvino', 'openvino-int8'):
            parser.error(f'--precision int8 needs --runtime openvino, got '
                         f'--runtime {args.runtime}')
        args.runtime = 'openvino-int8'
    return args


def space_setting(args: argparse.Namespace) -> dict:
    """The network setting and the search space the table covers."""
    cfg = Config.fromfile(args.config)
    backbone = cfg.model.backbone
    nodes = backbone.get('nodes', 4)
    candidates = list(backbone.get('candidates', OPERATION_NAMES))
    if backbone.type == 'AutoPoseBiLevelSearchNet':
        spec = dict(
            num_cells=backbone.get('num_cells', 12),
            min_cells=backbone.get('min_cells', 1),
            max_cells=backbone.get('max_cells'))
        layouts = LayoutSpace(**spec).layouts
        width = backbone.get('base_channels', 32)
    elif (cfg.get('study') or {}).get('space'):
        # a whole-network study: every layout of its space, at one of its
        # widths (a table per width)
        space = NetworkSpace.from_dict(cfg.study.space)
        if not args.channels and len(space.widths) > 1:
            raise SystemExit(
                f'{args.config}: its study.space has the widths '
                f'{list(space.widths)}; build one table per width '
                f'(--channels W)')
        spec = dict(cells_per_scale=[list(b) for b in space.cells_per_scale])
        layouts = space.layouts()
        width = space.widths[0]
    else:
        raise SystemExit(f'{args.config}: the latency table covers the '
                         f'layouts of a bi-level search or of a study.space; '
                         f'its backbone is {backbone.type}, not '
                         f'AutoPoseBiLevelSearchNet, and it has no '
                         f'study.space')
    h, w = input_size(cfg, args.input_size)
    return dict(
        base_channels=args.channels or width,
        input_size=[h, w],
        num_keypoints=cfg.model.head.get('out_channels', 17),
        nodes=nodes,
        candidates=candidates,
        layouts=spec), layouts


class Progress:
    """Prints ``[i/n] what  ms  elapsed  ETA``."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.start = time.perf_counter()

    def __call__(self, i: int, n: int, what: str, ms: float) -> None:
        elapsed = time.perf_counter() - self.start
        eta = elapsed / i * (n - i)
        print(
            f'[{self.stage} {i}/{n}] {what}: {ms:.3f} ms  '
            f'(elapsed {elapsed:.0f} s, ETA {eta:.0f} s)',
            flush=True)


def open_table(out: str, meta: dict) -> LatencyTable:
    """The partial table at ``out`` when it was started with the same
    settings on this machine (to resume), else a new one."""
    if not osp.isfile(out):
        return LatencyTable(meta)
    table = LatencyTable.load(out, check='ignore')
    same = all(
        table.meta.get(k) == meta[k]
        for k in ('entry', 'runtime', 'threads', 'setting', 'device',
                  'versions'))
    if not same:
        raise SystemExit(
            f'{out} holds a table of other settings, device or versions; '
            f'delete it or choose another --out')
    print(f'resuming {out}: {len(table.entries)} blocks measured')
    return table


def measure_genotypes(table: LatencyTable,
                      files: list,
                      repeats: int,
                      rounds: int,
                      references: int = 3) -> list:
    """Print and return, per genotype file, its budget target, the
    predicted latency, the measured one (the fastest of ``rounds``
    interleaved rounds, as the table counts, with their range) and the
    GMACs.

    The same rounds re-measure ``references`` of the table's calibration
    networks: their time now over their time when the table was built is
    the machine's drift since, which the prediction cannot know."""
    s = table.setting
    size = tuple(s['input_size'])
    genotypes = [load_genotype(path) for path in files]
    refs = table.networks.get('calibration', [])[:references]
    runners = [
        table.runner(g)
        for g in genotypes + [Genotype.from_dict(r['genotype']) for r in refs]
    ]
    timed = time_rounds(dict(enumerate(runners)), rounds, repeats)
    times = [timed[i] for i in range(len(runners))]
    if refs:
        drift = [
            fastest_round(t) / ref['measured_ms']
            for t, ref in zip(times[len(files):], refs)
        ]
        print(f'drift: {len(refs)} of the table\'s calibration networks run '
              f'at {np.median(drift):.2f}x ({min(drift):.2f}-'
              f'{max(drift):.2f}) of their time when it was built')
    print(f'{rounds} interleaved rounds of {repeats}+ calls, '
          f'{table.meta["runtime"]}, {table.meta["threads"]} thread(s)')
    print('| genotype | layout | budget | predicted (ms) | measured (ms, '
          'range) | measured / target | GMACs |')
    print('|---|---|---|---:|---:|---:|---:|')
    rows = []
    for path, genotype, t in zip(files, genotypes, times):
        layout = genotype.cells_per_scale
        budgets = genotype.extra.get('budgets', {})
        predicted = table.predict(genotype)
        measured = fastest_round(t)
        gmacs = analytic_macs(genotype, layout, s['base_channels'], size,
                              s['num_keypoints']) / 1e9
        if 'latency_ms' in budgets:
            target = budgets['latency_ms']['target']
            budget, ratio = f'{target:g} ms', f'{measured / target:.2f}'
        elif 'gmacs' in budgets:
            budget, ratio = f'{budgets["gmacs"]["target"]:g} GMACs', '-'
        else:
            budget, ratio = '-', '-'
        rows.append(
            dict(
                genotype=path,
                layout=list(layout),
                budgets=budgets,
                predicted_ms=predicted,
                measured_ms=measured,
                measured_ms_rounds=t,
                gmacs=gmacs))
        print(f'| {path} | {list(layout)} | {budget} | {predicted:.2f} | '
              f'{measured:.2f} ({min(t):.2f}-{max(t):.2f}) | {ratio} | '
              f'{gmacs:.3f} |')
    return rows


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.measure:
        if not args.out:
            raise SystemExit('--measure needs the table: --out TABLE.json')
        table = LatencyTable.load(args.out)
        measure_genotypes(table, args.measure, args.repeats, args.rounds or 5)
        return
    setting, layouts = space_setting(args)
    h, w = setting['input_size']
    out = args.out or osp.join(
        'work_dirs', 'latency',
        f'{args.runtime}_c{setting["base_channels"]}_{h}x{w}.json')
    meta = dict(
        format=TABLE_FORMAT,
        entry=ENTRY,
        **environment(args.runtime, args.threads),
        setting=setting)
    table = open_table(out, meta)
    blocks = space_blocks(setting['candidates'], layouts,
                          setting['base_channels'], (h, w),
                          setting['num_keypoints'], setting['nodes'])
    print(f'{len(blocks)} blocks of {len(layouts)} layouts, C='
          f'{setting["base_channels"]}, {h}x{w}, {args.runtime}, '
          f'{args.threads} thread(s), {meta["device"]["cpu"]}')
    measure_table(table, blocks, out, args.repeats, Progress('block'),
                  args.rounds or 5)
    common = (layouts, setting['candidates'], setting['nodes'])
    networks = dict(
        calibration=random_networks(args.calibrate, args.seed, *common))
    if args.validate:
        networks['validation'] = random_networks(args.validate, args.seed + 1,
                                                 *common)
    nets = measure_networks(table, networks, out, args.repeats,
                            Progress('network'), args.rounds or 5)
    correction = table.fit_correction(
        [n['block_sum_ms'] for n in nets['calibration']],
        [n['measured_ms'] for n in nets['calibration']])
    table.dump(out)
    print(f'correction: measured = {correction["scale"]:.3f} x block sum '
          f'{correction["offset_ms"]:+.3f} ms '
          f'({len(nets["calibration"])} networks)')
    if args.validate:
        v = validate(table)
        if table.correction and v['mape_pct'] > v['mape_sum_pct']:
            print(f'warning: the fitted correction predicts worse than the '
                  f'plain block sum (MAPE {v["mape_pct"]:.1f}% against '
                  f'{v["mape_sum_pct"]:.1f}%); the table keeps the plain '
                  f'sum. Measure more calibration networks (--calibrate) '
                  f'for a correction that helps')
            table.correction['applied'] = False
            v = validate(table)
        if v['mape_pct'] > POOR_MAPE_PCT:
            print(f'warning: the table predicts these networks with a MAPE '
                  f'of {v["mape_pct"]:.1f}% (above {POOR_MAPE_PCT}%): a '
                  f'latency budget searched with it is loose. Measure more '
                  f'rounds (--rounds) and calibration networks')
        table.dump(out)
        print(f'predicted vs measured on {v["networks"]} random networks '
              f'({v["measured_ms_range"][0]:.1f}-'
              f'{v["measured_ms_range"][1]:.1f} ms): MAPE '
              f'{v["mape_pct"]:.1f}% (plain block sum '
              f'{v["mape_sum_pct"]:.1f}%), worst {v["max_ape_pct"]:.1f}%')
    print(f'table written to {out}')


if __name__ == '__main__':
    sys.exit(main())
