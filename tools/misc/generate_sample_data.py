"""Generate the built-in synthetic sample data.

    python tools/misc/generate_sample_data.py [--format coco|mpii]
        [--out data/sample_coco] [--num-train 200] [--num-val 50] [--seed 0]

COCO format: images, person_keypoints_{train,val}2017.json and a detection
file; MPII format: images, annot/{train,valid}.json and annot/gt_valid.mat.
The same seed always gives the same files.
"""
import argparse
import time

from autopose_mm.datasets import generate_coco, generate_mpii


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--format', choices=['coco', 'mpii'], default='coco')
    parser.add_argument(
        '--out',
        help='dataset root to write (default: '
        'data/sample_coco or data/sample_mpii)')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--width', type=int, default=256)
    parser.add_argument('--max-people', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    out = args.out or f'data/sample_{args.format}'
    generate = generate_coco if args.format == 'coco' else generate_mpii
    start = time.time()
    paths = generate(
        out,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=(args.height, args.width),
        max_people=args.max_people,
        seed=args.seed)
    print(f'wrote {args.num_train} + {args.num_val} {args.format} images to '
          f'{out} in {time.time() - start:.1f}s')
    for name, path in paths.items():
        print(f'  {name}: {path}')


if __name__ == '__main__':
    main()
