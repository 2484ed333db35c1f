import json
import os.path as osp
import re

import pytest
from conftest import REPO, run_tool

ROWS = ['AutoPose-L12-C32', 'HRNet-W32', 'Cell-search supernet L12-C32 K=4']


def test_benchmark_prints_ratios_and_writes_json(tmp_path):
    out = str(tmp_path / 'bench.json')
    proc = run_tool(
        'analysis/benchmark.py',
        '--rows',
        *ROWS,
        '--batch',
        '2',
        '--shape',
        '128',
        '96',
        '--warmup',
        '0',
        '--repeats',
        '1',
        '--fuse-conv-bn',
        '--pipeline-workers',
        '0',
        '--pipeline-batches',
        '2',
        '--json',
        out,
        cwd=REPO,
        env=dict(TMPDIR=str(tmp_path)))
    with open(out) as f:
        result = json.load(f)
    rows = {r['name']: r for r in result['rows']}
    assert list(rows) == ROWS
    for r in rows.values():
        for key in ('train_ips', 'infer_ips', 'flip_ips'):
            assert r[key] > 0, (r['name'], key)
    # GMACs scale with the input: the published L12-C32 has 1.04 at 256x192
    assert rows['AutoPose-L12-C32']['gmacs'] == pytest.approx(
        1.04 / 4, rel=0.02)
    assert rows['HRNet-W32']['params_m'] == pytest.approx(28.54, rel=0.01)

    table = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and cells[0] in rows:
            table[cells[0]] = cells
    assert set(table) == set(ROWS)
    assert table['HRNet-W32'][4] == '1.00x'
    ratio = rows['AutoPose-L12-C32']['train_ips'] / rows['HRNet-W32'][
        'train_ips']
    assert table['AutoPose-L12-C32'][4] == f'{ratio:.2f}x'
    achieved = 3 * rows['AutoPose-L12-C32']['gmacs'] * rows[
        'AutoPose-L12-C32']['train_ips']
    assert table['AutoPose-L12-C32'][5] == f'{achieved:.1f}'
    assert re.search(
        r'Cell-search supernet L12-C32 K=4 vs the derived '
        r'AutoPose-L12-C32 .*time per step [\d.]+x', proc.stdout)
    assert result['pipeline_ips']['0'] > 0
    assert osp.isfile(
        osp.join(
            str(tmp_path), 'autopose_mm_bench_data', 'annotations',
            'person_keypoints_train2017.json'))


def test_channels_last_supernet_is_refused_before_measuring(tmp_path):
    proc = run_tool(
        'analysis/benchmark.py',
        '--channels-last',
        '--rows',
        'AutoPose-L12-C32',
        'Cell-search supernet L12-C32 K=4',
        cwd=str(tmp_path),
        check=False)
    assert proc.returncode == 2
    assert 'Cell-search supernet L12-C32 K=4' in proc.stdout
    assert 'Leave out --channels-last' in proc.stdout
    assert 'measuring' not in proc.stdout  # nothing ran
