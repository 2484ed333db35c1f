"""Write the genotype a checkpoint was trained with to a file.

    python tools/misc/checkpoint_genotype.py CHECKPOINT OUT.json|OUT.yaml

Checkpoints saved by this package keep the network's genotype in
``meta['genotype']``; a config then uses it with ``genotype='OUT.json'``.
"""
import argparse

import autopose_mm  # noqa: F401  (safe checkpoint loading)
from autopose_mm.engine.guards import stored_genotype
from autopose_mm.models.genotype import Genotype
from autopose_mm.utils.checkpoint import load_from_local_safely
from autopose_mm.utils.io import check_output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='genotype file to write (.json/.yaml)')
    args = parser.parse_args()
    check_output(
        args.out,
        'OUT',
        inputs=[args.checkpoint],
        suffixes=('.json', '.yaml', '.yml'))
    checkpoint = load_from_local_safely(args.checkpoint, map_location='cpu')
    stored = stored_genotype(checkpoint, args.checkpoint)
    if stored is None:
        raise SystemExit(
            f'checkpoint {args.checkpoint} records no genotype (it was saved '
            f'before genotypes were recorded, or by a search supernet)')
    Genotype.from_dict(stored).dump(args.out)
    print(f'genotype {stored.get("name") or "(unnamed)"!r} written to '
          f'{args.out}')


if __name__ == '__main__':
    main()
