"""Bad input, one row each: the command, how it must end, what its message
must say, and which files must be absent or unchanged afterwards.

A row's command is a tool (``tools/<name>``) or ``-c CODE``, run in a forked
copy of this process (the stack is imported once, so a row costs what the
tool itself does) from the sample workspace. ``prepare`` makes the row's
bad files in its own directory and may return more placeholders. A new
probe is one more row.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import re
import runpy
import struct
import sys
import traceback
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import pytest
import torch
from conftest import REPO, TINY_CFG, run_tool

import autopose_mm  # noqa: F401
from autopose_mm.models.genotype import PUBLISHED_GENOTYPE


@dataclass
class Fault:
    """One probe: see the module docstring."""
    id: str
    command: Sequence[str]
    match: str
    prepare: Optional[Callable[[Dict[str, str]], Optional[dict]]] = None
    code: Optional[int] = None  # None: any non-zero exit
    absent: Sequence[str] = ()
    unchanged: Sequence[str] = ()
    forbid: Sequence[str] = ('weights_only', )
    env: Dict[str, str] = field(default_factory=dict)


# files made by the rows' prepare functions ----------------------------------
def _load(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def _json(path: str, data, **kwargs) -> None:
    with open(path, 'w') as f:
        json.dump(data, f, **kwargs)


def _read(path: str):
    with open(path) as f:
        return json.load(f)


def _published() -> dict:
    return _read(PUBLISHED_GENOTYPE)


def json_copy(source: str, name: str, change: Callable) -> Callable:
    """``{tmp}/<name>``: the JSON file ``p[source]``, changed in place by
    ``change``."""

    def prepare(p: Dict[str, str]) -> None:
        data = _read(p[source])
        change(data)
        _json(osp.join(p['tmp'], name), data)

    return prepare


def dets_with(change: Callable[[list], None]) -> Callable:
    return json_copy('dets', 'dets.json', change)


def annotations_with(change: Callable[[dict], None]) -> Callable:
    return json_copy('ann', 'ann.json', change)


nan_boxes = json_copy(
    'dets', 'nan.json',
    lambda dets: [d.update(bbox=[float('nan')] * 4) for d in dets])


def checkpoint_with(change: Callable[[dict], object]) -> Callable:
    """``x.pth``: the trained checkpoint, changed (or replaced by what
    ``change`` returns)."""

    def prepare(p: Dict[str, str]) -> None:
        ckpt = _load(p['ck'])
        out = change(ckpt)
        torch.save(ckpt if out is None else out, osp.join(p['tmp'], 'x.pth'))

    return prepare


def nan_bn(ckpt: dict) -> None:
    key = next(k for k in ckpt['state_dict'] if k.endswith('running_var'))
    ckpt['state_dict'][key][0] = float('nan')


def overflowing(ckpt: dict) -> None:
    """Finite weights whose outputs overflow to infinity and NaN."""
    for key, value in ckpt['state_dict'].items():
        if key.endswith('weight') and value.ndim == 4:
            value.mul_(1e30)


def stored_genotype(value) -> Callable:

    def change(ckpt: dict) -> None:
        ckpt['meta']['genotype'] = value() if callable(value) else value

    return checkpoint_with(change)


def unknown_op() -> dict:
    g = _published()
    g['encoder']['normal']['edges'][0][0][0] = 'bogus_op'
    return g


def genotype_file(change: Callable[[dict], object], name='g.json') -> Callable:
    """A genotype file: the published one changed (or replaced by what
    ``change`` returns, bytes written as they are)."""

    def prepare(p: Dict[str, str]) -> None:
        g = _published()
        out = change(g)
        out = g if out is None else out
        path = osp.join(p['tmp'], name)
        if isinstance(out, bytes):
            with open(path, 'wb') as f:
                f.write(out)
        elif name.endswith('.yaml'):
            with open(path, 'w') as f:
                f.write(out)
        else:
            _json(path, out)

    return prepare


def set_path(data: dict, path: str, value) -> None:
    *parents, last = path.split('.')
    for key in parents:
        data = data[int(key)] if isinstance(data, list) else data[key]
    data[int(last) if isinstance(data, list) else last] = value


BOMB = ('a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
        ''.join(f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n'
                for p, c in zip('abcdefgh', 'bcdefghi')))


def yaml_bomb(where: str) -> Callable:

    def change(g: dict) -> str:
        import yaml
        text = yaml.safe_dump(g, sort_keys=False)
        return BOMB + text.replace(
            'name: autopose-published',
            f'{where}: *i' if where == 'name' else f'name: x\n{where}: *i')

    return genotype_file(change, 'bomb.yaml')


def zip_bomb(p: Dict[str, str]) -> None:
    path = osp.join(p['tmp'], 'bomb.pth')
    torch.save({'state_dict': {}}, path)
    with zipfile.ZipFile(path, 'a', zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            zipfile.ZipInfo('bomb/data/0'), b'\0' * (64 * 2**20),
            zipfile.ZIP_DEFLATED)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data)))


def huge_png(p: Dict[str, str]) -> None:
    header = struct.pack('>IIBBBBB', 20000, 20000, 8, 0, 0, 0, 0)
    with open(osp.join(p['tmp'], 'huge.png'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', header) +
                _png_chunk(b'IDAT', zlib.compress(b'\0' * 20001)) +
                _png_chunk(b'IEND', b''))


def truncated_jpeg(p: Dict[str, str]) -> None:
    with open(p['image'], 'rb') as f:
        data = f.read()
    with open(osp.join(p['tmp'], 'cut.jpg'), 'wb') as f:
        f.write(data[:len(data) // 2])


def image_folder_with_a_truncated_jpeg(p: Dict[str, str]) -> None:
    """``{tmp}/img``: the validation images, the first one cut off."""
    import shutil
    folder = osp.join(p['tmp'], 'img')
    shutil.copytree(osp.dirname(p['image']), folder)
    truncated_jpeg(dict(p, tmp=folder))
    os.replace(
        osp.join(folder, 'cut.jpg'), osp.join(folder,
                                              osp.basename(p['image'])))


def big_detection_file(p: Dict[str, str]) -> None:
    """A valid detection file of 65 MiB (past the old 64 MiB check)."""
    text = json.dumps(_read(p['dets']))
    with open(osp.join(p['tmp'], 'dets.json'), 'w') as f:
        f.write(text[:-1] + ' ' * (65 * 2**20) + ']')


def sgd_config(p: Dict[str, str]) -> None:
    with open(osp.join(p['tmp'], 'sgd.py'), 'w') as f:
        f.write(f"_base_ = ['{TINY_CFG}']\n"
                "optim_wrapper = dict(optimizer=dict(_delete_=True, "
                "type='SGD', lr=0.01, momentum=0.9))\n")


def wide_config(p: Dict[str, str]) -> None:
    with open(osp.join(p['tmp'], 'wide.py'), 'w') as f:
        f.write(f"_base_ = ['{TINY_CFG}']\n"
                "model = dict(backbone=dict(base_channels=16))\n")


def holds_lock(p: Dict[str, str]) -> dict:
    from autopose_mm.utils.io import work_dir_lock
    lock = work_dir_lock(osp.join(p['tmp'], 'w'), 'training')
    lock.__enter__()
    return dict(_cleanup=lambda: lock.__exit__(None, None, None))


def latency_table(change: Callable[[dict], None]) -> Callable:

    def prepare(p: Dict[str, str]) -> None:
        table = _read(
            osp.join(REPO, 'tests', 'data', 'latency',
                     'onnxruntime_c32_256x192.json'))
        change(table)
        _json(osp.join(p['tmp'], 'table.json'), table)

    return prepare


class _Shell:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def evil_checkpoint(legacy: bool) -> Callable:

    def prepare(p: Dict[str, str]) -> None:
        torch.save({
            'state_dict': {},
            'x': _Shell(osp.join(p['tmp'], 'pwned'))
        },
                   osp.join(p['tmp'], 'evil.pth'),
                   _use_new_zipfile_serialization=not legacy)

    return prepare


def text_file(name: str, text: str) -> Callable:

    def prepare(p: Dict[str, str]) -> None:
        with open(osp.join(p['tmp'], name), 'w') as f:
            f.write(text)

    return prepare


# the rows ------------------------------------------------------------------
TEST = ['test.py', '{cfg}', '{ck}', '--work-dir', '{tmp}/w']
TEST_X = ['test.py', '{cfg}', '{tmp}/x.pth', '--work-dir', '{tmp}/w']
OUT = ['--out', '{tmp}/m.json']
INFER = ['infer.py', '{cfg}', '{ck}', '{img}', '--out-dir', '{tmp}/o']
INFER_X = ['infer.py', '{cfg}', '{tmp}/x.pth', '{img}', '--out-dir', '{tmp}/o']
EXPORT_X = [
    'deployment/pytorch2onnx.py', '{cfg}', '{tmp}/x.pth', '--out',
    '{tmp}/x.onnx'
]
FLOPS_G = [
    'analysis/get_flops.py', '{cfg}', '--cfg-options', 'model.genotype={g}'
]
TEST_ANN = TEST + OUT + [
    '--cfg-options', 'test_dataloader.dataset.ann_file={tmp}/ann.json',
    'test_evaluator.ann_file={tmp}/ann.json'
]
TEST_DETS = TEST + OUT + [
    '--cfg-options', 'test_dataloader.dataset.bbox_file={tmp}/dets.json'
]
TRAIN = ['train.py', '{cfg}', '--work-dir', '{tmp}/w']
NO_OUT = ('{tmp}/m.json', )
NO_PRED = ('{tmp}/o/predictions', '{tmp}/o/visualizations')
SEARCH = [
    'search.py', '{study}', '--work-dir', '{tmp}/s', '--cfg-options',
    'study.targets=[1]'
]
# the timestamped folder a run would leave (its name is the start time)
RUN_FOLDERS = ('{tmp}/w/2*', )


def _ann_each(change: Callable[[dict], None]) -> Callable:
    return annotations_with(lambda a: [change(x) for x in a['annotations']])


def _genotype(path: str, value) -> Callable:
    return genotype_file(lambda g: set_path(g, path, value))


def _table(path: str, value) -> Callable:
    return latency_table(lambda t: set_path(t, path, value))


def folder_with_other_files(p: Dict[str, str]) -> None:
    folder = osp.join(p['tmp'], 'imgs')
    os.makedirs(folder)
    with open(p['image'], 'rb') as f, open(osp.join(folder, 'a.jpg'),
                                           'wb') as out:
        out.write(f.read())
    for name, text in (('README', 'notes'), ('logo.svg', '<svg></svg>')):
        with open(osp.join(folder, name), 'w') as f:
            f.write(text)


def emptied_pointer(p: Dict[str, str]) -> None:
    """A work dir whose run was killed while MMEngine rewrote its
    ``last_checkpoint`` (emptied, not yet written)."""
    work_dir = osp.join(p['tmp'], 'w')
    os.makedirs(work_dir)
    with open(p['ck'],
              'rb') as f, open(osp.join(work_dir, 'epoch_1.pth'), 'wb') as out:
        out.write(f.read())
    open(osp.join(work_dir, 'last_checkpoint'), 'w').close()


def random_study_db(p: Dict[str, str]) -> None:
    os.makedirs(osp.join(p['tmp'], 's'))
    with open(osp.join(p['tmp'], 's', 'study.db'), 'wb') as f:
        f.write(os.urandom(8192))


FULL_DISK_SAVE = """
import errno, torch
from autopose_mm.engine.resume import atomic_torch_save
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device')
torch.save = full
atomic_torch_save(dict(weights=1), '{tmp}/epoch_9.pth')
"""

LOAD_TABLE = [
    '-c', 'from autopose_mm.search.costs import LatencyTable; '
    'LatencyTable.load("{tmp}/table.json", check="ignore")'
]
FAULTS: List[Fault] = [
    # non-finite input never produces a result
    Fault(
        'nan boxes: test',
        TEST + OUT +
        ['--cfg-options', 'test_dataloader.dataset.bbox_file={tmp}/nan.json'],
        r"nan\.json'.*bbox \[nan, nan, nan, nan\]",
        nan_boxes,
        absent=NO_OUT),
    Fault(
        'nan boxes: infer',
        INFER + ['--det-file', '{tmp}/nan.json', '--det-images', '{ann}'],
        r"nan\.json'.*not 4 finite numbers",
        nan_boxes,
        absent=NO_PRED),
    Fault(
        'nan boxes: EPE evaluator',
        TEST + OUT + [
            '--cfg-options',
            'test_dataloader.dataset.bbox_file={tmp}/nan.json',
            'test_evaluator.type=EPE'
        ],
        r'nan\.json',
        nan_boxes,
        absent=NO_OUT),
    Fault(
        'nan BN buffer: test',
        TEST_X + OUT,
        r'x\.pth: 1 tensors hold NaN.*running_var',
        checkpoint_with(nan_bn),
        absent=NO_OUT),
    Fault(
        'nan BN buffer: infer',
        INFER_X,
        r'x\.pth: 1 tensors hold NaN',
        checkpoint_with(nan_bn),
        absent=NO_PRED),
    Fault(
        'nan BN buffer: export',
        EXPORT_X,
        r'x\.pth: 1 tensors hold NaN',
        checkpoint_with(nan_bn),
        absent=('{tmp}/x.onnx', )),
    Fault(
        'nan BN buffer: export --no-verify',
        EXPORT_X + ['--no-verify'],
        r'x\.pth: 1 tensors hold NaN',
        checkpoint_with(nan_bn),
        absent=('{tmp}/x.onnx', )),
    Fault(
        'nan BN buffer: load_from',
        TRAIN +
        ['--cfg-options', 'load_from={tmp}/x.pth', 'train_cfg.max_epochs=1'],
        r'x\.pth: 1 tensors hold NaN',
        checkpoint_with(nan_bn),
        absent=('{tmp}/w/epoch_1.pth', )),
    Fault(
        'overflowing weights: test',
        TEST_X + OUT,
        r'prediction for .* has non-finite',
        checkpoint_with(overflowing),
        absent=NO_OUT),
    Fault(
        'overflowing weights: infer',
        INFER_X,
        r'prediction for .* has non-finite',
        checkpoint_with(overflowing),
        absent=NO_PRED),
    Fault(
        'negative areas',
        TEST_ANN,
        r"ann\.json'.*area -1",
        _ann_each(lambda a: a.update(area=-1.0)),
        absent=NO_OUT),
    Fault(
        'nan keypoints',
        TEST_ANN,
        r"ann\.json'.*keypoints are not finite",
        _ann_each(lambda a: a['keypoints'].__setitem__(0, float('nan'))),
        absent=NO_OUT),
    Fault(
        '50 keypoint values',
        TEST_ANN,
        r'50 keypoint values',
        _ann_each(lambda a: a.update(keypoints=a['keypoints'][:50])),
        absent=NO_OUT),
    Fault(
        'visibility 7',
        TEST_ANN,
        r'visibility is not 0, 1 or 2',
        _ann_each(lambda a: a['keypoints'].__setitem__(2, 7)),
        absent=NO_OUT),
    Fault(
        'annotations not dicts',
        TEST_ANN,
        r'a list, not a dict',
        annotations_with(lambda a: a.update(annotations=[[1, 2]])),
        absent=NO_OUT),
    Fault(
        'string num_keypoints',
        TEST_ANN,
        r"num_keypoints '3'",
        _ann_each(lambda a: a.update(num_keypoints='3')),
        absent=NO_OUT),
    Fault(
        'images a dict',
        TEST_ANN,
        r'"images" is a dict',
        annotations_with(lambda a: a.update(images={'1': {}})),
        absent=NO_OUT),
    Fault(
        'string boxes',
        TEST_ANN,
        r"bbox '1 2 3 4'",
        _ann_each(lambda a: a.update(bbox='1 2 3 4')),
        absent=NO_OUT),
    Fault(
        'list image_id',
        TEST_ANN,
        r'image_id \[1\]',
        _ann_each(lambda a: a.update(image_id=[1])),
        absent=NO_OUT),
    Fault(
        'detection score "high"',
        TEST_DETS,
        r"score 'high'",
        dets_with(lambda d: d[0].update(score='high')),
        absent=NO_OUT),
    # strict schemas
    Fault(
        'genotype: misspelled network',
        FLOPS_G,
        r"'netwrok': unknown top-level field; did you mean 'network'",
        genotype_file(
            lambda g: g.update(netwrok=dict(cells_per_scale=[3, 3, 3, 3]))),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: cells_per_scale at the top',
        FLOPS_G,
        r"'cells_per_scale': unknown top-level field",
        genotype_file(lambda g: g.update(cells_per_scale=[3, 3, 3, 3])),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: a second "Nodes"',
        FLOPS_G,
        r"'Nodes': unknown top-level field; did you mean 'nodes'",
        genotype_file(lambda g: g.update(Nodes=5)),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: key given twice',
        FLOPS_G,
        r"key 'nodes' is given twice",
        genotype_file(lambda g: json.dumps(g).replace(
            '"nodes": 4', '"nodes": 4, "nodes": 5').encode()),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: concat 5',
        FLOPS_G,
        r"encoder\.normal\.concat'.*got 5",
        _genotype('encoder.normal.concat', 5),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: concat null',
        FLOPS_G,
        r"encoder\.normal\.concat'",
        _genotype('encoder.normal.concat', None),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: an op given as a list',
        FLOPS_G,
        r"edges\[0\]\[0\]'.*unknown operation \['std_conv_3x3'\]",
        _genotype('encoder.normal.edges.0.0.0', ['std_conv_3x3']),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: misspelled op',
        FLOPS_G,
        r"unknown operation 'std_conv_3x4'; did you mean 'std_conv_3x3'",
        _genotype('encoder.normal.edges.0.0.0', 'std_conv_3x4'),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: se_connect at stride 2',
        FLOPS_G,
        r"encoder\.reduce\.edges\[0\]\[0\]'.*'se_connect' is not defined at "
        r'stride 2',
        _genotype('encoder.reduce.edges.0.0', ['se_connect', 0]),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: nested 200k levels',
        FLOPS_G,
        r'nests too deeply',
        genotype_file(lambda g: b'[' * 200000 + b']' * 200000),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: not UTF-8',
        FLOPS_G,
        r'not UTF-8 text',
        genotype_file(lambda g: b'{"name": "\xff\xfe"}'),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: not JSON',
        FLOPS_G,
        r"g\.json' is not valid JSON.*line 1",
        genotype_file(lambda g: b'{"name": "x",'),
        env=dict(_g='{tmp}/g.json')),
    Fault(
        'genotype: YAML bomb in name',
        FLOPS_G,
        r'more than 100000 values',
        yaml_bomb('name'),
        env=dict(_g='{tmp}/bomb.yaml')),
    Fault(
        'genotype: YAML bomb in a record field',
        FLOPS_G,
        r'more than 100000 values',
        yaml_bomb('budgets'),
        env=dict(_g='{tmp}/bomb.yaml')),
    Fault(
        'cfg-options: nested typo',
        TRAIN + ['--cfg-options', 'model.test_cfg.flip_tset=False'],
        r"no setting 'flip_tset'; did you mean 'flip_test'",
        absent=('{tmp}/w', )),
    Fault(
        'cfg-options: typo in a hook',
        TRAIN + ['--cfg-options', 'default_hooks.checkpoint.intervl=1'],
        r"CheckpointHook\) has no setting 'intervl'; did you mean "
        r"'interval'",
        absent=('{tmp}/w', )),
    Fault(
        'cfg-options: top-level typo',
        TRAIN + ['--cfg-options', 'trian_cfg.max_epochs=1'],
        r"no top-level setting 'trian_cfg'; did you mean 'train_cfg'",
        absent=('{tmp}/w', )),
    # latency tables
    Fault('latency table: scale -1', LOAD_TABLE, r'correction\.scale is -1',
          _table('correction.scale', -1)),
    Fault('latency table: scale NaN', LOAD_TABLE, r'correction\.scale is nan',
          _table('correction.scale', float('nan'))),
    Fault('latency table: offset -1e6', LOAD_TABLE,
          r'correction\.offset_ms is -1000000',
          _table('correction.offset_ms', -1e6)),
    Fault('latency table: runtime tensorrt', LOAD_TABLE,
          r"meta\.runtime is 'tensorrt'", _table('meta.runtime', 'tensorrt')),
    Fault('latency table: threads "many"', LOAD_TABLE,
          r"meta\.threads is 'many'", _table('meta.threads', 'many')),
    # one run per work dir; no tool overwrites its inputs
    Fault(
        'two trainings on one work dir',
        TRAIN,
        r"work dir .* is in use",
        holds_lock,
        absent=('{tmp}/w/epoch_1.pth', )),
    Fault(
        'export --out the checkpoint', [
            'deployment/pytorch2onnx.py', '{cfg}', '{tmp}/x.pth', '--out',
            '{tmp}/x.pth'
        ],
        r'is also an input',
        checkpoint_with(lambda c: None),
        unchanged=('{tmp}/x.pth', )),
    Fault(
        'checkpoint_genotype onto its input',
        ['misc/checkpoint_genotype.py', '{tmp}/x.pth', '{tmp}/x.pth'],
        r'is also an input',
        checkpoint_with(lambda c: None),
        unchanged=('{tmp}/x.pth', )),
    Fault(
        'test --out the checkpoint',
        TEST_X + ['--out', '{tmp}/x.pth'],
        r'is also an input',
        checkpoint_with(lambda c: None),
        unchanged=('{tmp}/x.pth', )),
    Fault('test --out unwritable', TEST + ['--out', '/proc/m.json'],
          r"--out '/proc/m\.json': cannot write"),
    # bounded loading
    Fault(
        'zip bomb checkpoint',
        TEST,
        r"bomb\.pth: record 'bomb/data/0' inflates",
        zip_bomb,
        env=dict(_ck='{tmp}/bomb.pth')),
    Fault(
        '20000x20000 PNG',
        INFER,
        r'20000x20000 pixels, more than',
        huge_png,
        absent=NO_PRED,
        env=dict(_img='{tmp}/huge.png')),
    Fault(
        'truncated JPEG',
        INFER,
        r"cut\.jpg' cannot be read .*truncated",
        truncated_jpeg,
        absent=NO_PRED,
        env=dict(_img='{tmp}/cut.jpg')),
    Fault(
        'truncated JPEG in a dataset',
        TEST + OUT + [
            '--cfg-options',
            'test_dataloader.dataset.data_prefix.img={tmp}/img/'
        ],
        r'failed to load image: .*img/\d+\.jpg',
        image_folder_with_a_truncated_jpeg,
        absent=NO_OUT),
    Fault(
        'a valid 65 MiB detection file',
        INFER + ['--det-file', '{tmp}/dets.json', '--det-images', '{ann}'],
        r'1 frame\(s\) drawn',
        big_detection_file,
        code=0),
    # checkpoints that name the file
    Fault('meta genotype a list: test', TEST_X,
          r'x\.pth: meta\["genotype"\] is a list', stored_genotype([1, 2])),
    Fault(
        'meta genotype a string: infer',
        INFER_X,
        r'x\.pth: meta\["genotype"\] is a str',
        stored_genotype('published'),
        absent=NO_PRED),
    Fault('stored genotype with an unknown op: test', TEST_X,
          r"x\.pth: the genotype .*'bogus_op'", stored_genotype(unknown_op)),
    Fault(
        'stored genotype with an unknown op: infer',
        INFER_X,
        r"x\.pth: the genotype .*'bogus_op'",
        stored_genotype(unknown_op),
        absent=NO_PRED),
    Fault(
        'stored genotype with an unknown op: export',
        EXPORT_X,
        r"x\.pth: the genotype .*'bogus_op'",
        stored_genotype(unknown_op),
        absent=('{tmp}/x.onnx', )),
    Fault(
        'stored genotype with an unknown op: checkpoint_genotype',
        ['misc/checkpoint_genotype.py', '{tmp}/x.pth', '{tmp}/g.json'],
        r"x\.pth: the genotype .*'bogus_op'",
        stored_genotype(unknown_op),
        absent=('{tmp}/g.json', )),
    Fault(
        'resume from a bare state dict',
        TRAIN + ['--resume', '{tmp}/x.pth'],
        r'holds weights only',
        checkpoint_with(lambda c: c['state_dict']),
        absent=('{tmp}/w/epoch_2.pth', )),
    Fault(
        'resume with another optimiser', [
            'train.py', '{tmp}/sgd.py', '--work-dir', '{tmp}/w', '--resume',
            '{ck}'
        ],
        r'another optimiser',
        sgd_config,
        absent=('{tmp}/w/epoch_2.pth', )),
    Fault(
        'export --shape 0 0',
        EXPORT_X + ['--shape', '0', '0'],
        r'both must be positive',
        checkpoint_with(lambda c: None),
        absent=('{tmp}/x.onnx', )),
    Fault('get_flops --shape 0 0',
          ['analysis/get_flops.py', '{cfg}', '--shape', '0', '0'],
          r'both must be positive'),
    Fault(
        'export --opset 5',
        EXPORT_X + ['--opset', '5'],
        r'--opset 5: this exporter writes opsets 11 to 20',
        checkpoint_with(lambda c: None),
        absent=('{tmp}/x.onnx', )),
    Fault('export --out /proc', [
        'deployment/pytorch2onnx.py', '{cfg}', 'none', '--out', '/proc/a.onnx'
    ], r"--out '/proc/a\.onnx': cannot write"),
    Fault('text file as checkpoint', TEST_X, r'x\.pth could not be read',
          text_file('x.pth', 'hello\n')),
    # the earlier round of bad input
    Fault(
        'malicious checkpoint (zip)', ['test.py', '{cfg}', '{tmp}/evil.pth'],
        r'refused to load checkpoint.*system',
        evil_checkpoint(False),
        absent=('{tmp}/pwned', )),
    Fault(
        'malicious checkpoint (legacy)',
        ['test.py', '{cfg}', '{tmp}/evil.pth'],
        r'refused to load checkpoint.*system',
        evil_checkpoint(True),
        absent=('{tmp}/pwned', )),
    Fault('empty checkpoint', TEST_X, r'x\.pth is empty',
          text_file('x.pth', '')),
    Fault(
        'checkpoint of other widths', [
            'test.py', '{tmp}/wide.py', '{ck}', '--work-dir', '{tmp}/w',
            '--out', '{tmp}/m.json'
        ],
        r'does not match the model: the widths differ',
        wide_config,
        absent=NO_OUT),
    Fault('annotation file not JSON', TEST_ANN,
          r"ann\.json' is not valid JSON", text_file('ann.json', '{"a": ')),
    Fault(
        'annotations without people',
        TEST_ANN,
        r'no annotated person',
        _ann_each(lambda a: a.update(num_keypoints=0)),
        absent=NO_OUT),
    Fault(
        'detection box of 3 values',
        TEST_DETS,
        r'bbox \[1, 2, 3\]',
        dets_with(lambda d: d[0].update(bbox=[1, 2, 3])),
        absent=NO_OUT),
    Fault(
        'detection without score',
        TEST_DETS,
        r'entry 0 lacks score',
        dets_with(lambda d: d[0].pop('score')),
        absent=NO_OUT),
    Fault(
        'detection for an unknown image',
        TEST_DETS,
        r'1 image ids.*2000000',
        dets_with(lambda d: d[0].update(image_id=2000000)),
        absent=NO_OUT),

    # boxes that are not in the image
    Fault(
        'detection box outside the image: test',
        TEST_DETS,
        r"dets\.json'.*entry 0 \(image \d+\) has bbox \[-900, -900, 10, 10\], "
        r'which lies outside',
        dets_with(lambda d: d[0].update(bbox=[-900, -900, 10, 10])),
        absent=NO_OUT),
    Fault(
        'detection box of no area: test',
        TEST_DETS,
        r'entry 0 .*has bbox \[5, 5, 0, 0\], which has no area',
        dets_with(lambda d: d[0].update(bbox=[5, 5, 0, 0])),
        absent=NO_OUT),
    Fault(
        'detection box of 1e30: infer',
        INFER + ['--det-file', '{tmp}/dets.json', '--det-images', '{ann}'],
        r'entry \d+ .*reaches more than the image size past',
        dets_with(lambda d: [x.update(bbox=[0, 0, 1e30, 1e30]) for x in d]),
        absent=NO_PRED),
    Fault(
        'folder with a README and an SVG: infer',
        ['infer.py', '{cfg}', '{ck}', '{tmp}/imgs', '--out-dir', '{tmp}/o'],
        r'1 frame\(s\) drawn',
        folder_with_other_files,
        code=0),
    # the network's size is bounded before anything is built
    Fault(
        'num_cells=100000',
        TRAIN + ['--cfg-options', 'model.backbone.num_cells=100000'],
        r'model\.backbone\.num_cells=100000 is larger than this package '
        r'builds \(limit 100, set AUTOPOSE_MAX_CELLS',
        absent=('{tmp}/w/epoch_1.pth', )),
    Fault(
        'unknown arch leaves no run folder',
        TRAIN + ['--cfg-options', 'model.backbone.arch=L99-C32'],
        r"unknown AutoPoseNet arch 'L99-C32'",
        absent=RUN_FOLDERS),
    # resume and full disks
    Fault(
        'resume after the pointer write was cut off',
        TRAIN + ['--resume', '--cfg-options', 'train_cfg.max_epochs=2'],
        r'resuming from .*w/epoch_1\.pth, the newest checkpoint .*'
        r'w/last_checkpoint is empty',
        emptied_pointer,
        code=0),
    Fault(
        'disk full while saving a checkpoint', ['-c', FULL_DISK_SAVE],
        r'no space left on the device of .*epoch_9\.pth while writing it; '
        r'nothing was replaced',
        absent=('{tmp}/epoch_9.pth', )),
    # the study's storage, settings and resources
    Fault(
        'study in memory',
        SEARCH + ['--storage', 'sqlite://'],
        r'keeps the study in memory',
        absent=('{tmp}/s/pareto.json', )),
    Fault('storage that is not a URL', SEARCH + ['--storage', 'foo'],
          r"--storage \(study\.storage\) 'foo' is not a database URL"),
    Fault(
        'storage password never shown',
        SEARCH + [
            '--storage',
            'postgresql+psycopg2://admin:SECRETPW@127.0.0.1:9/autopose'
        ],
        r'admin:\*\*\*@127\.0\.0\.1.*(database driver|database server runs)',
        forbid=('SECRETPW', 'weights_only')),
    Fault(
        'damaged study database',
        SEARCH,
        r's/study\.db: it is not a SQLite database\. Move it aside',
        random_study_db,
        unchanged=('{tmp}/s/study.db', )),
    Fault(
        'metric misspelled',
        SEARCH + ['study.metric=coco/Ap'],
        r"study.metric 'coco/Ap' .*did you mean 'coco/AP'",
        absent=('{tmp}/s/trials', )),
    Fault(
        'report of a study never run',
        SEARCH + ['--report-only'],
        r'no study database .*s/study\.db: nothing to report',
        absent=('{tmp}/s/study.db', )),
    Fault('1000 workers', SEARCH + ['--workers', '1000'],
          r'--workers 1000 is more than this machine runs .*--oversubscribe'),
]


# the harness ---------------------------------------------------------------
def _run_forked(argv: List[str], cwd: str, env: Dict[str, str],
                log: str) -> int:
    """Run ``tools/<argv[0]>`` (or ``-c CODE``) in a forked child with
    ``argv[1:]``; its output goes to ``log``; returns its exit status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = open(1, 'w', closefd=False)
            sys.stderr = open(2, 'w', closefd=False)
            os.chdir(cwd)
            os.environ.update(env)
            if argv[0] == '-c':
                sys.argv = ['-c']
                exec(compile(argv[1], '<row>', 'exec'), {})
            else:
                script = osp.join(REPO, 'tools', argv[0])
                sys.argv = [script] + argv[1:]
                sys.path.insert(0, osp.dirname(script))
                runpy.run_path(script, run_name='__main__')
            code = 0
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code)
            code = e.code if isinstance(e.code,
                                        int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _digest(path: str) -> Optional[str]:
    if not osp.isfile(path):
        return None
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope='module')
def fault_paths(sample_workspace, tmp_path_factory) -> Dict[str, str]:
    """The trained checkpoint and sample files the rows start from; the
    stack imported once, for the forked rows."""
    import mmpose.apis  # noqa: F401
    import onnxruntime  # noqa: F401
    from mmengine.runner import Runner  # noqa: F401

    import autopose_mm.deploy  # noqa: F401
    work_dir = str(tmp_path_factory.mktemp('faults_train'))
    run_tool(
        'train.py',
        TINY_CFG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        cwd=sample_workspace)
    data = osp.join(sample_workspace, 'data', 'sample_coco')
    image = sorted(glob.glob(osp.join(data, 'images', 'val2017', '*.jpg')))[0]
    return dict(
        cfg=TINY_CFG,
        study=osp.join(REPO, 'tests', 'configs', 'tiny_study.py'),
        ck=osp.join(work_dir, 'epoch_1.pth'),
        ws=sample_workspace,
        img=image,
        image=image,  # what a row's own 'img' cannot replace
        dets=osp.join(data, 'person_detection_results',
                      'detections_val2017.json'),
        ann=osp.join(data, 'annotations', 'person_keypoints_val2017.json'))


def test_rows_have_unique_ids():
    ids = [f.id for f in FAULTS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize('fault', FAULTS, ids=[f.id for f in FAULTS])
def test_fault(fault: Fault, fault_paths, tmp_path):
    paths = dict(fault_paths, tmp=str(tmp_path))
    # a row may point a placeholder elsewhere (env key '_name')
    for key, value in fault.env.items():
        if key.startswith('_'):
            paths[key[1:]] = value.format(**paths)
    extra = (fault.prepare(paths) if fault.prepare else None) or {}
    cleanup = extra.pop('_cleanup', None)
    paths.update(extra)
    shared = [paths['ck'], paths['dets'], paths['ann']]
    before = {p: _digest(p) for p in shared}
    unchanged = [u.format(**paths) for u in fault.unchanged]
    before.update({p: _digest(p) for p in unchanged})
    argv = [a.format(**paths) for a in fault.command]
    env = {k: v for k, v in fault.env.items() if not k.startswith('_')}
    log = str(tmp_path / 'output.log')
    try:
        code = _run_forked(argv, paths['ws'], env, log)
    finally:
        if cleanup:
            cleanup()
    with open(log, errors='replace') as f:
        output = f.read()
    tail = output[-4000:]
    if fault.code is None:
        assert code != 0, f'exit 0, expected an error:\n{tail}'
    else:
        assert code == fault.code, f'exit {code}:\n{tail}'
    assert re.search(
        fault.match, output,
        re.S), (f'expected /{fault.match}/ in the output:\n{tail}')
    for word in fault.forbid:
        assert word not in output, f'{word!r} in the output:\n{tail}'
    for pattern in fault.absent:
        pattern = pattern.format(**paths)
        for path in glob.glob(pattern) if '*' in pattern else [pattern]:
            leftover = osp.exists(path) and (not osp.isdir(path)
                                             or os.listdir(path))
            assert not leftover, f'{path} was written'
    for path, digest in before.items():
        assert _digest(path) == digest, f'{path} changed'


def test_written_files_are_readable_like_checkpoints(tmp_path):
    """Atomically written files get the mode of a plainly created file."""
    from autopose_mm.utils.io import atomic_write_text, write_json
    old = os.umask(0o022)
    try:
        atomic_write_text(str(tmp_path / 'a.txt'), 'x')
        write_json(str(tmp_path / 'b.json'), dict(a=1))
        with open(tmp_path / 'plain', 'w'):
            pass
    finally:
        os.umask(old)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    assert modes == {'a.txt': '0o644', 'b.json': '0o644', 'plain': '0o644'}


def test_strict_json_refuses_non_finite_values(tmp_path):
    from autopose_mm.utils.io import write_json
    with pytest.raises(ValueError, match=r'not writing .*m\.json'):
        write_json(str(tmp_path / 'm.json'), {'EPE': float('nan')})
    assert not (tmp_path / 'm.json').exists()
    spec = runpy.run_path(osp.join(REPO, 'tools', 'test.py'))
    with pytest.raises(SystemExit, match='EPE are not finite'):
        spec['write_metrics'](str(tmp_path / 'm.json'), {'EPE': float('nan')})
    assert not (tmp_path / 'm.json').exists()
    spec['write_metrics'](str(tmp_path / 'm.json'), {'EPE': 1.5})
    assert json.loads((tmp_path / 'm.json').read_text()) == {'EPE': 1.5}


def test_limits_are_overridable(monkeypatch):
    from autopose_mm.utils.limits import limit
    assert limit('image_pixels') == 100 * 10**6
    monkeypatch.setenv('AUTOPOSE_MAX_IMAGE_PIXELS', '5e8')
    assert limit('image_pixels') == 5 * 10**8
    monkeypatch.setenv('AUTOPOSE_MAX_IMAGE_PIXELS', 'lots')
    with pytest.raises(ValueError, match='AUTOPOSE_MAX_IMAGE_PIXELS'):
        limit('image_pixels')


def test_a_correction_not_applied_predicts_the_block_sum(tmp_path):
    from autopose_mm.models import load_genotype
    from autopose_mm.search.costs import LatencyTable
    results = osp.join(REPO, 'tests', 'data', 'latency')
    table = LatencyTable.load(
        osp.join(results, 'onnxruntime_c32_256x192.json'), check='ignore')
    genotype = load_genotype(osp.join(results, 'target_13ms_genotype.json'))
    block_sum = table.plain_sum(genotype)
    assert table.predict(genotype) != pytest.approx(block_sum)
    table.correction['applied'] = False
    table.dump(str(tmp_path / 'table.json'))
    again = LatencyTable.load(str(tmp_path / 'table.json'), check='ignore')
    assert again.predict(genotype) == pytest.approx(block_sum)
    # an offset that makes a network's latency negative is not a prediction
    again.correction.update(applied=True, offset_ms=-1000.)
    with pytest.raises(ValueError, match=r'predicts -\d+.* ms'):
        again.predict(genotype)
