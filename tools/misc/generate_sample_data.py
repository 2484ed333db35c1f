"""Generate the built-in synthetic sample data (COCO format).

    python tools/misc/generate_sample_data.py [--out data/sample_coco]
        [--num-train 200] [--num-val 50] [--seed 0]

The same seed always gives the same files.
"""
import argparse
import time

from autopose_mm.datasets import generate_coco


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/sample_coco',
                        help='dataset root to write')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--width', type=int, default=256)
    parser.add_argument('--max-people', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    start = time.time()
    paths = generate_coco(
        args.out,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=(args.height, args.width),
        max_people=args.max_people,
        seed=args.seed)
    print(f'wrote {args.num_train} + {args.num_val} images to {args.out} in '
          f'{time.time() - start:.1f}s')
    for name, path in paths.items():
        print(f'  {name}: {path}')


if __name__ == '__main__':
    main()
