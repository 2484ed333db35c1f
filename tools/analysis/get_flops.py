"""Parameters and GFLOPs of a config's model, counted as the AutoPose tables
count them: multiply-accumulates of conv and linear layers, batch 1.

    python tools/analysis/get_flops.py CONFIG [--shape H W] [--cfg-options ...]

It prints the encoder (stem and cells, the tables' "#Params" / "GFLOPs"
columns) and the full model (encoder, decoder and head).
"""
import argparse

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import autopose_mm  # noqa: F401
from autopose_mm.utils.cli import add_shape_arg, input_size
from autopose_mm.utils.complexity import count_macs, count_params


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count params and GFLOPs')
    parser.add_argument('config', help='config file path')
    add_shape_arg(parser, what='input size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    h, w = input_size(cfg, args.shape)
    model = MODELS.build(cfg.model)
    rows = [('encoder', model.backbone), ('full model', model)]
    print(f'config: {args.config}')
    print(f'input:  {h}x{w} (batch 1; GFLOPs = conv/linear multiply-adds)')
    print(f'| {"part":<10} | {"#Params":>8} | {"GFLOPs":>7} |')
    print(f'|{"-" * 12}|{"-" * 10}|{"-" * 9}|')
    for name, module in rows:
        params = count_params(module) / 1e6
        gflops = count_macs(module, (3, h, w)) / 1e9
        print(f'| {name:<10} | {params:7.2f}M | {gflops:7.2f} |')


if __name__ == '__main__':
    main()
