"""Latency lookup tables: building, the file round trip and its checks,
prediction, the budget in the controller's reward, and the search."""
import copy
import dataclasses
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config

from autopose_mm.deploy.timing import environment, make_runner, time_runner
from autopose_mm.models import OPERATION_NAMES, Genotype, load_genotype
from autopose_mm.search.costs import (
    CALL_BLOCK,
    ENTRY,
    TABLE_FORMAT,
    GMACsBudget,
    LatencyBudget,
    LatencyTable,
    TableMismatch,
    analytic_macs,
    build_block,
    config_gmacs,
    config_latency,
    config_layout,
    mape,
    measure_networks,
    measure_table,
    network_blocks,
    random_networks,
    space_blocks,
    validate,
)
from autopose_mm.search.space import LayoutController, LayoutSpace

BILEVEL_CFG = osp.join(REPO, 'configs', 'autopose', 'demo',
                       'bilevel_search_tiny_sample_coco_64x48.py')
SETTING = dict(
    base_channels=8,
    input_size=[32, 24],
    num_keypoints=17,
    nodes=4,
    candidates=list(OPERATION_NAMES),
    layouts=dict(num_cells=4, min_cells=1, max_cells=None))


def _table(entries=None, correction=None) -> LatencyTable:
    meta = dict(
        format=TABLE_FORMAT,
        entry=ENTRY,
        **environment('eager', 1),
        setting=SETTING)
    return LatencyTable(copy.deepcopy(meta), entries, correction)


def _published(layout=(1, 1, 1, 1)) -> Genotype:
    return dataclasses.replace(
        load_genotype('published'), cells_per_scale=tuple(layout))


def test_blocks_of_a_network_are_counted_by_hand():
    blocks = network_blocks(_published(), (1, 1, 1, 1), 8, (32, 24))
    kinds = [b.kind for b in blocks]
    # 4 encoder cells and 3 decoder cells of 4 nodes with 2 edges each
    assert kinds.count('stem') == 1 and kinds.count('head') == 1
    assert kinds.count('cell') == 4 and kinds.count('up') == 3
    assert kinds.count('op') == 7 * 8
    stem = blocks[0]
    assert (stem.get('c'), stem.get('h'), stem.get('w')) == (8, 32, 24)
    # the first reduction cell: its input edges run at stride 2 on the
    # 8x6 input, its inner edges at stride 1 on 4x3
    reduce_ops = blocks[1 + 9 + 1:1 + 9 + 1 + 8]
    strides = {(b.get('s'), b.get('h'), b.get('w')) for b in reduce_ops}
    assert strides <= {(2, 8, 6), (1, 4, 3)} and len(strides) == 2
    head = blocks[-1]
    assert (head.get('c'), head.get('h'), head.get('w'),
            head.get('k')) == (16, 8, 6, 17)
    # every block of a network of the space is a block of the space
    space = space_blocks(OPERATION_NAMES, [(1, 1, 1, 1)], 8, (32, 24), 17, 4)
    assert {b.key for b in blocks} <= set(space)


def test_prediction_is_the_corrected_sum_of_the_blocks():
    genotype = _published()
    blocks = network_blocks(genotype, (1, 1, 1, 1), 8, (32, 24))
    entries = {b.key: (1.0 if b.kind == 'op' else 2.0) for b in blocks}
    table = _table(entries)
    # 56 ops at 1 ms; stem, 4 cells, 3 decoder cells and the head at 2 ms
    assert table.plain_sum(genotype) == pytest.approx(56 + 9 * 2)
    assert table.predict(genotype) == pytest.approx(74)
    table.correction = dict(scale=2.0, offset_ms=1.0, networks=2)
    assert table.predict(genotype) == pytest.approx(149)
    # the runtime's cost of a call is in each of the 65 blocks' times and
    # once in the network's
    table.entries[CALL_BLOCK.key] = 0.5
    assert table.plain_sum(genotype) == pytest.approx(74 - 65 * 0.5 + 0.5)
    # a call timed slower than the 1-ms ops (noise): they add nothing, the
    # nine 2-ms blocks 0.5 each, and the sum stays positive
    table.entries[CALL_BLOCK.key] = 1.5
    assert table.plain_sum(genotype) == pytest.approx(1.5 + 9 * 0.5)
    del table.entries[blocks[0].key]
    with pytest.raises(KeyError, match='no entry for 1 block'):
        table.predict(genotype)
    with pytest.raises(ValueError, match='needs a layout'):
        table.predict(load_genotype('published'))


def test_correction_fit_and_error_measure():
    table = _table()
    sums = [10., 12., 15., 20.]
    fit = table.fit_correction(sums, [1.5 * s + 2 for s in sums])
    assert fit['scale'] == pytest.approx(1.5)
    assert fit['offset_ms'] == pytest.approx(2)
    # a slope drowned in noise keeps the sum's proportions
    fit = table.fit_correction([10., 20.], [12., 11.])
    assert fit['scale'] == pytest.approx(11.5 / 15) and fit['offset_ms'] == 0
    # so does a line that would predict no time for a network half the size
    # of the smallest one measured (here zero at a block sum of 8 ms)
    fit = table.fit_correction([10., 12.], [2., 4.])
    assert fit['scale'] == pytest.approx(3 / 11) and fit['offset_ms'] == 0
    # a negative offset that stays clear of that is kept
    fit = table.fit_correction([10., 20.], [8., 17.])
    assert fit['scale'] == pytest.approx(0.9)
    assert fit['offset_ms'] == pytest.approx(-1.)
    with pytest.raises(ValueError, match='at least 2'):
        table.fit_correction([10.], [12.])
    assert mape([11., 9.], [10., 10.]) == pytest.approx(10.)


def test_table_round_trip_resume_and_checks(tmp_path):
    out = str(tmp_path / 'table.json')
    table = _table()
    blocks = space_blocks(OPERATION_NAMES, [(1, 1, 1, 1)], 8, (32, 24), 17, 4)
    first = dict(list(blocks.items())[:5])
    seen = []
    measure_table(table, first, out, 2, lambda i, n, k, ms: seen.append(k))
    assert [k.split(' (round')[0] for k in seen] == list(first)
    assert all(v > 0 for v in table.entries.values())
    loaded = LatencyTable.load(out)
    assert loaded.entries == table.entries and loaded.meta == table.meta
    # a second run measures only what is missing
    seen.clear()
    more = dict(list(blocks.items())[:7])
    measure_table(loaded, more, out, 2, lambda i, n, k, ms: seen.append(k))
    assert [k.split(' (round')[0] for k in seen] == list(more)[5:]
    assert json.load(open(out))['entries'].keys() == more.keys()

    # interleaved rounds: every block measured once per round, the entry
    # the fastest; a later run with more rounds adds only the missing ones
    seen.clear()
    measure_table(
        loaded, more, out, 2, lambda i, n, k, ms: seen.append(k), rounds=2)
    assert len(seen) == len(more)
    assert all(len(loaded.samples[k]) == 2 for k in more)
    for k in more:
        assert loaded.entries[k] == pytest.approx(min(loaded.samples[k]))
    seen.clear()
    measure_table(
        loaded, more, out, 2, lambda i, n, k, ms: seen.append(k), rounds=3)
    assert len(seen) == len(more) and 'round 3' in seen[0]
    assert LatencyTable.load(out).samples == loaded.samples

    # a table from another device or library version
    data = json.load(open(out))
    data['meta']['device']['cpu'] = 'Some Phone SoC'
    data['meta']['versions']['torch'] = '0.0.1'
    other = str(tmp_path / 'other.json')
    json.dump(data, open(other, 'w'))
    with pytest.warns(UserWarning, match='measured elsewhere') as record:
        LatencyTable.load(other)
    message = str(record[0].message)
    assert 'Some Phone SoC' in message and "'0.0.1'" in message
    assert 'tools/analysis/latency_table.py' in message
    # a table that counted the median of its rounds, as tables once did
    data = json.load(open(out))
    del data['meta']['entry']
    old = str(tmp_path / 'median.json')
    json.dump(data, open(old, 'w'))
    with pytest.warns(UserWarning, match='median of its rounds') as record:
        LatencyTable.load(old)
    assert 'latency_table.py' in str(record[0].message)
    with pytest.raises(TableMismatch, match='device.cpu'):
        LatencyTable.load(other, check='error')
    # another format, a broken file, no file
    data['meta']['format'] = TABLE_FORMAT + 1
    json.dump(data, open(other, 'w'))
    with pytest.raises(TableMismatch, match='format'):
        LatencyTable.load(other, check='ignore')
    open(other, 'w').write('{"meta": {')
    with pytest.raises(ValueError, match='is not a latency table'):
        LatencyTable.load(other)
    with pytest.raises(FileNotFoundError, match='latency_table.py'):
        LatencyTable.load(str(tmp_path / 'missing.json'))
    # non-finite latencies are never written
    table.entries['x'] = float('nan')
    with pytest.raises(ValueError, match='non-finite'):
        table.dump(out)
    assert 'x' not in json.load(open(out))['entries']


def test_networks_are_measured_in_interleaved_rounds(tmp_path):
    out = str(tmp_path / 'table.json')
    table = _table()
    layouts = [(1, 1, 1, 1), (1, 2, 1, 1)]
    blocks = space_blocks(OPERATION_NAMES, layouts, 8, (32, 24), 17, 4)
    measure_table(table, blocks, out, 2)
    nets = dict(
        calibration=random_networks(2, 0, layouts, OPERATION_NAMES, 4),
        validation=random_networks(1, 1, layouts, OPERATION_NAMES, 4))
    seen = []

    def progress(i, n, what, ms):
        seen.append(what)

    measure_networks(table, nets, out, 2, progress, rounds=2)
    # every network once per round, both purposes in each round
    assert len(seen) == 6
    assert {w.split(' network')[0]
            for w in seen[:3]} == {'calibration', 'validation'}
    assert all('(round 2)' in w for w in seen[3:])
    loaded = LatencyTable.load(out)
    for purpose, genotypes in nets.items():
        records = loaded.networks[purpose]
        assert len(records) == len(genotypes)
        for record, genotype in zip(records, genotypes):
            assert len(record['samples_ms']) == 2
            assert record['measured_ms'] == pytest.approx(
                min(record['samples_ms']))
            assert record['layout'] == list(genotype.cells_per_scale)
            assert record['block_sum_ms'] == pytest.approx(
                loaded.plain_sum(genotype))
    # a resumed run adds only the missing rounds; a record measured
    # before rounds keeps its time as its first round
    del loaded.networks['validation'][0]['samples_ms']
    seen.clear()
    measure_networks(loaded, nets, out, 2, progress, rounds=3)
    assert len(seen) == 2 + 2  # its rounds 2 and 3, the others' round 3
    assert len(loaded.networks['validation'][0]['samples_ms']) == 3
    v = validate(loaded)
    assert v['networks'] == 1 and np.isfinite(v['mape_pct'])


def test_latency_budget_penalty_and_coverage():
    genotype = _published()
    blocks = space_blocks(OPERATION_NAMES, [(1, 1, 1, 1)], 8, (32, 24), 17, 4)
    table = _table({k: 1.0 for k in blocks})
    budget = LatencyBudget(table.predict(genotype) / 1.2, table, weight=2.)
    cost = budget.cost(genotype, (1, 1, 1, 1))
    assert budget.penalty(cost) == pytest.approx(2 * 0.2)
    record = budget.record(genotype, (1, 1, 1, 1), (64, 48))
    assert record['predicted'] == pytest.approx(cost)
    assert record['runtime'] == 'eager' and record['base_channels'] == 8
    budget.check_covers([(1, 1, 1, 1)], OPERATION_NAMES, 4)
    with pytest.raises(ValueError, match='lacks .* block'):
        budget.check_covers([(1, 1, 1, 1), (1, 2, 1, 1)], OPERATION_NAMES, 4)
    with pytest.raises(ValueError, match='target must be > 0'):
        GMACsBudget(0., 16)


def test_controller_meets_a_latency_budget():
    """The reward form of the search with a latency target alone: the
    controller ends on a layout whose predicted latency is near it."""
    space = LayoutSpace([4, 5, 6, 7, 8], max_cells=3)
    genotype = _published()
    blocks = space_blocks(OPERATION_NAMES, space.layouts, 8, (32, 24), 17, 4)
    # ops at the finest scale cost the most, as on a real device
    table = _table({
        k: (4.0 if b.kind == 'op' and b.get('h') == 8 else 1.0)
        for k, b in blocks.items()
    })
    costs = {lay: table.predict(genotype, lay) for lay in space.layouts}
    target = float(np.percentile(list(costs.values()), 30))
    budget = LatencyBudget(target, table, weight=1.)
    controller = LayoutController(space)
    optim = torch.optim.Adam(controller.parameters(), lr=0.1)
    torch.manual_seed(0)
    for _ in range(400):
        index = controller.sample()
        layout = space.layouts[index]
        controller.reinforce(index, -budget.penalty(costs[layout]))
        optim.step()
    best = controller.best()
    assert abs(costs[best] / target - 1) < 0.1
    ranked = controller.ranked()
    assert ranked[0] == best and sorted(ranked) == sorted(space.layouts)
    probs = controller.probs()
    assert [float(probs[space.index(lay)]) for lay in ranked[:20]] == sorted(
        [float(probs[space.index(lay)]) for lay in ranked[:20]], reverse=True)


@pytest.fixture(scope='module')
def tiny_table(sample_workspace, tmp_path_factory):
    """A table of the tiny bi-level search space, built by the tool."""
    out = str(tmp_path_factory.mktemp('latency') / 'table.json')
    args = ('--config', BILEVEL_CFG, '--runtime', 'eager', '--channels', '8',
            '--input-size', '32', '24', '--repeats', '2', '--rounds', '1',
            '--calibrate', '2', '--validate', '2', '--out', out)
    result = run_tool('analysis/latency_table.py', *args, cwd=REPO)
    return out, args, result.stdout


def test_tool_builds_validates_and_resumes(tiny_table):
    out, args, stdout = tiny_table
    assert 'MAPE' in stdout and 'ETA' in stdout
    table = LatencyTable.load(out, check='error')
    assert table.meta['setting']['layouts']['num_cells'] == [4, 5, 6, 7, 8]
    assert table.correction['networks'] == 2
    assert table.validation['networks'] == 2
    assert np.isfinite(table.validation['mape_pct'])
    again = run_tool('analysis/latency_table.py', *args, cwd=REPO).stdout
    assert 'resuming' in again and '[block ' not in again
    assert '[calibrate ' not in again


def test_tool_measures_searched_networks(tiny_table, tmp_path):
    out = tiny_table[0]
    genotype = str(tmp_path / 'genotype.json')
    _published((1, 2, 1, 1)).dump(genotype)
    stdout = run_tool(
        'analysis/latency_table.py',
        '--out',
        out,
        '--measure',
        genotype,
        '--rounds',
        '2',
        '--repeats',
        '2',
        cwd=REPO).stdout
    predicted = LatencyTable.load(out).predict(_published((1, 2, 1, 1)))
    row = next(line for line in stdout.splitlines() if genotype in line)
    cells = [c.strip() for c in row.split('|')]
    assert cells[2] == '[1, 2, 1, 1]'
    assert float(cells[4]) == pytest.approx(predicted, abs=0.01)
    assert float(cells[5].split()[0]) > 0
    assert 'drift: 2 of the table' in stdout


def test_search_with_a_latency_target_records_it(tiny_table, sample_workspace,
                                                 tmp_path):
    out, _, _ = tiny_table
    table = LatencyTable.load(out)
    work_dir = str(tmp_path / 'search')
    run_tool(
        'train.py',
        BILEVEL_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=3',
        'train_cfg.latency_target=5.0',
        f'train_cfg.latency_table={out}',
        'train_cfg.flops_target=0.01',
        'train_cfg.controller_steps=2',
        cwd=sample_workspace)
    genotype = Genotype.load(osp.join(work_dir, 'genotype.json'))
    record = genotype.extra['budgets']['latency_ms']
    assert record['target'] == 5.0 and record['table'] == out
    assert record['predicted'] == pytest.approx(table.predict(genotype))
    gmacs = genotype.extra['budgets']['gmacs']
    assert gmacs['target'] == 0.01
    assert gmacs['predicted'] == pytest.approx(
        analytic_macs(genotype, genotype.cells_per_scale, 16, (64, 48)) / 1e9)

    # the written layout is the controller's most probable one within 5%
    # of both budgets, or (none being) the one closest to them
    def miss(layout):
        gmacs = analytic_macs(genotype, layout, 16, (64, 48)) / 1e9
        return max(
            abs(table.predict(genotype, layout) / 5.0 - 1),
            abs(gmacs / 0.01 - 1))

    space = LayoutSpace([4, 5, 6, 7, 8], max_cells=3)
    chosen = miss(genotype.cells_per_scale)
    assert chosen <= 0.05 or chosen == pytest.approx(
        min(miss(layout) for layout in space.layouts))
    # the warm-up epochs' genotypes record the budgets too
    first = Genotype.load(osp.join(work_dir, 'genotypes', 'epoch_1.json'))
    assert set(first.extra['budgets']) == {'latency_ms', 'gmacs'}
    scalars_file, = glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    scalars = [json.loads(line) for line in open(scalars_file)]
    assert any('layout_latency_ms' in s for s in scalars)
    # a target without a table, and a table of another space, stop the run
    result = run_tool(
        'train.py',
        BILEVEL_CFG,
        '--work-dir',
        str(tmp_path / 'bad'),
        '--cfg-options',
        'train_cfg.latency_target=5.0',
        check=False,
        cwd=sample_workspace)
    assert result.returncode != 0
    assert 'go together' in result.stdout
    data = json.load(open(out))
    data['entries'] = {
        k: v
        for k, v in data['entries'].items() if 'std_conv_3x3' not in k
    }
    partial = str(tmp_path / 'partial.json')
    json.dump(data, open(partial, 'w'))
    result = run_tool(
        'train.py',
        BILEVEL_CFG,
        '--work-dir',
        str(tmp_path / 'bad2'),
        '--cfg-options',
        'train_cfg.latency_target=5.0',
        f'train_cfg.latency_table={partial}',
        check=False,
        cwd=sample_workspace)
    assert result.returncode != 0
    assert 'lacks' in result.stdout and 'std_conv_3x3' in result.stdout


def test_latency_budget_search_on_an_openvino_table(sample_workspace,
                                                    tmp_path):
    """The bi-level search reads a table timed on OpenVINO (f32) as it
    reads any other: the tool builds it, the search meets its target."""
    out = str(tmp_path / 'openvino.json')
    run_tool(
        'analysis/latency_table.py',
        '--config',
        BILEVEL_CFG,
        '--runtime',
        'openvino',
        '--channels',
        '8',
        '--input-size',
        '32',
        '24',
        '--repeats',
        '2',
        '--rounds',
        '1',
        '--calibrate',
        '2',
        '--validate',
        '0',
        '--out',
        out,
        cwd=REPO)
    table = LatencyTable.load(out, check='error')
    assert table.meta['runtime'] == 'openvino'
    assert table.meta['versions']['openvino']
    target = table.predict(_published((1, 1, 1, 1)))
    work_dir = str(tmp_path / 'search')
    run_tool(
        'train.py',
        BILEVEL_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=2',
        f'train_cfg.latency_target={target:.4f}',
        f'train_cfg.latency_table={out}',
        'train_cfg.controller_steps=2',
        cwd=sample_workspace)
    genotype = Genotype.load(osp.join(work_dir, 'genotype.json'))
    record = genotype.extra['budgets']['latency_ms']
    assert record['table'] == out
    assert record['predicted'] == pytest.approx(table.predict(genotype))


@pytest.mark.parametrize('runtime',
                         ['eager', 'fused', 'onnxruntime', 'openvino'])
def test_every_runtime_times_a_block(runtime):
    blocks = space_blocks(['std_conv_3x3'], [(1, 1, 1, 1)], 8, (32, 24), 17, 4)
    block = next(b for b in blocks.values() if b.kind == 'cell')
    module, inputs = build_block(block)
    threads = torch.get_num_threads()
    try:
        run = make_runner(module, inputs, runtime, threads=1)
        assert time_runner(run, repeats=2, min_seconds=0.) > 0
    finally:
        torch.set_num_threads(threads)
    with pytest.raises(ValueError, match='unknown runtime'):
        make_runner(module, inputs, 'tensorrt', threads=1)


def test_config_costs_of_a_genotype(tiny_table):
    """The study's costs: a config's network read from the config, its
    latency predicted by a table measured for it, or refused naming what
    differs."""
    out, _, _ = tiny_table
    table = LatencyTable.load(out)
    cfg = Config(
        dict(
            codec=dict(input_size=(24, 32)),
            model=dict(
                backbone=dict(arch=None, num_cells=4, base_channels=8),
                head=dict(out_channels=table.setting['num_keypoints']))))
    layout = list(config_layout(cfg))
    assert sum(layout) == 4
    g = _published(layout)
    assert config_latency(cfg,
                          out)(g) == pytest.approx(table.predict(g, layout))
    assert config_gmacs(cfg)(g) == pytest.approx(
        analytic_macs(g, layout, 8,
                      (32, 24), table.setting['num_keypoints']) / 1e9)
    cfg.model.backbone.base_channels = 16
    with pytest.raises(ValueError, match="base_channels.*latency_table.py"):
        config_latency(cfg, out)
