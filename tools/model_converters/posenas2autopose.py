"""Convert a checkpoint of the reference AutoPose release to this package.

    python tools/model_converters/posenas2autopose.py SRC DST.pth
        [--config CFG] [--cfg-options k=v ...]

SRC is what the reference's scripts save: ``checkpoint.pth`` of its
``train.py`` (``{'state_dict': {'module.…': …}, …}``) or a bare state dict
(``model_best.pth``, ``final_state.pth``). It is read with the package's
safe loading (tensors only). The preset (L, C, reductions), the joints and
the stages are read from the tensor shapes and pick the shipped config
(``configs/autopose/l12_c32_coco_256x192.py``...), unless ``--config`` names
one. Every tensor is renamed by the rules of
``autopose_mm.models.reference`` and checked against the config's model;
a tensor left over, missing or of another shape stops the conversion,
naming it, and nothing is written. DST is an MMPose checkpoint
(``state_dict`` and ``meta`` with the genotype and SRC's SHA-256) that
``tools/test.py``, ``tools/infer.py`` and the exporter load strictly.
"""
import argparse
import hashlib
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import autopose_mm  # noqa: F401  (registers modules, installs safe loading)
from autopose_mm.engine.guards import check_finite_weights, model_genotype
from autopose_mm.engine.resume import atomic_torch_save
from autopose_mm.models.reference import (
    ReferenceConversionError,
    convert_reference,
    preset_config_name,
    read_layout,
    reference_state_dict,
)
from autopose_mm.utils.checkpoint import (
    CheckpointReadError,
    UnsafeCheckpointError,
    load_from_local_safely,
)
from autopose_mm.utils.cli import check_option_keys
from autopose_mm.utils.io import check_output

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'autopose')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint of the reference code')
    parser.add_argument('dst', help='MMPose checkpoint to write (.pth)')
    parser.add_argument(
        '--config',
        help='config of the network SRC holds (default: the shipped config '
        'of the preset read from its shapes)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.genotype=genotype.json')
    return parser.parse_args()


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    args = parse_args()
    check_output(args.dst, 'DST', inputs=[args.src], suffixes=('.pth', ))
    state = reference_state_dict(
        load_from_local_safely(args.src, map_location='cpu'), args.src)
    layout = read_layout(state, args.src)
    config = args.config or osp.join(
        CONFIG_DIR,
        preset_config_name(layout, args.src) + '.py')
    cfg = Config.fromfile(config)
    if args.cfg_options:
        check_option_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model = MODELS.build(cfg.model)
    stages = getattr(model.neck, 'num_stages', 1)
    if stages != layout.num_stages:
        raise ReferenceConversionError(
            f'{args.src} holds a {layout.num_stages}-stage network but '
            f'{config} builds {stages} (model.neck.num_stages); give a '
            f'config with {layout.num_stages} stages')
    converted = convert_reference(state, model.state_dict(), args.src)
    check_finite_weights(converted, args.src)
    model.load_state_dict(converted, strict=True)
    genotype = model_genotype(model)
    meta = dict(
        genotype=None if genotype is None else genotype.to_dict(),
        converted_from=dict(
            file=osp.basename(args.src),
            sha256=sha256(args.src),
            tensors=len(state)),
        config=osp.basename(config))
    atomic_torch_save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'{args.src}: L={layout.num_cells} C={layout.base_channels} '
          f'K={layout.num_joints}, {layout.num_stages} stage(s), '
          f'{len(state)} tensors -> {args.dst} (config {config})')


if __name__ == '__main__':
    try:
        main()
    except (ReferenceConversionError, CheckpointReadError,
            UnsafeCheckpointError, FileNotFoundError) as e:
        sys.exit(f'error: {e}')
