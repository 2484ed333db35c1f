import json
import os.path as osp
import re

import pytest
from conftest import REPO, run_tool

from autopose_mm.deploy.profiling import conv_share, mac_kernel_ms

ROWS = [
    'AutoPose-L12-C32', 'HRNet-W32', 'Cell-search supernet L12-C32 K=4',
    'Cell-search supernet L12-C32 K=4 weight step',
    'Cell-search supernet L12-C32 K=4 alpha every 2nd step'
]


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
    for name in ROWS[2:]:
        assert re.search(
            name + r' vs the derived '
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


LATENCY_ROWS = ['AutoPose-L12-C32', 'HRNet-W32', 'RTMPose-t', 'RTMPose-s']
BACKENDS = ['fused', 'onnxruntime', 'openvino']


def test_latency_rows_at_a_tiny_size(tmp_path):
    out = str(tmp_path / 'latency.json')
    proc = run_tool(
        'analysis/benchmark.py',
        '--latency',
        '--rows',
        *LATENCY_ROWS,
        '--shape',
        '64',
        '64',
        '--warmup',
        '1',
        '--repeats',
        '2',
        '--rounds',
        '2',
        '--threads',
        '1',
        '--backends',
        *BACKENDS,
        '--profile',
        '--json',
        out,
        cwd=REPO,
        env=dict(TMPDIR=str(tmp_path)))
    with open(out) as f:
        result = json.load(f)
    rows = {r['name']: r for r in result['rows']}
    assert list(rows) == LATENCY_ROWS
    for r in rows.values():
        assert len(r['rounds']) == 2
        for backend in BACKENDS:
            lat = r['latency'][backend]
            assert 0 < lat['median'] <= lat['p90'], (r['name'], backend)
            assert len(lat['per_round']) == 2
            assert all(len(t[backend]) == 2 for t in r['rounds'])
        # the profile of every exported runtime: kernel ms per operator
        assert set(r['profile']) == {'onnxruntime', 'openvino'}
        for ops in r['profile'].values():
            assert all(ms >= 0 for ms in ops.values())
            assert 0 < conv_share(ops) <= 1, (r['name'], ops)
        # the multiply-add kernels' rate: the row's GMACs over their time
        for backend, ops in r['profile'].items():
            assert r['mac_gmacs_per_s'][backend] == pytest.approx(
                r['gmacs'] / mac_kernel_ms(ops) * 1e3)
    for backend in ('onnxruntime', 'openvino'):
        vs = rows['HRNet-W32']['vs'][backend]
        assert vs['HRNet-W32']['ratio'] == pytest.approx(1.)
        assert rows['RTMPose-s']['vs'][backend]['RTMPose-s']['low'] == (
            pytest.approx(1.))
    l12 = rows['AutoPose-L12-C32']
    lines = [
        ln for ln in proc.stdout.splitlines()
        if ln.startswith('| AutoPose-L12-C32 |')
    ]
    for backend in ('onnxruntime', 'openvino'):
        ratio = (
            l12['latency'][backend]['median'] /
            rows['HRNet-W32']['latency'][backend]['median'])
        vs = l12['vs'][backend]['HRNet-W32']
        assert vs['ratio'] == pytest.approx(ratio)
        assert vs['low'] <= vs['high']
        assert f'{ratio:.2f}x' in lines[0]
    # GMACs at 64x64: a third of 256x192's (1.04 for L12-C32 stage 1)
    assert l12['gmacs'] == pytest.approx(1.04 / 12, rel=0.05)
    assert 'RTMPose line on ONNX Runtime:' in proc.stdout
    assert 'RTMPose line on OpenVINO:' in proc.stdout
    assert re.search(
        r'\| AutoPose-L12-C32 \| OpenVINO \| [\d.]+ \| \d+% \| \d+ \|',
        proc.stdout)
    assert re.search(
        r'AutoPose-L12-C32: [\d.]+ ms, the line predicts -?[\d.]+ ms',
        proc.stdout)
    assert 0 < l12['vs_rtmpose_line']['openvino']
