"""Command-line helpers the lab's tools share."""
import argparse
import dataclasses
from typing import Sequence, Type, TypeVar

from autopose_mm.utils.cli import as_typed

Plan = TypeVar('Plan')

__all__ = [
    'add_study_tool_args', 'add_comparison_args', 'apply_profile', 'plan_from'
]


def add_study_tool_args(parser: argparse.ArgumentParser,
                        config: str,
                        final_config: str,
                        target: bool = True) -> None:
    """The options the study analysis tools share: the trial config (with
    its study section) and the config of the full trainings, workers,
    storage, the seed of the full trainings and, with ``target``, the cost
    target and its tolerance."""
    parser.add_argument(
        '--config',
        default=as_typed(config),
        help='trial config with a study section (the short schedule)')
    parser.add_argument(
        '--final-config',
        default=as_typed(final_config),
        help='config of the full trainings')
    parser.add_argument(
        '--final-epochs',
        type=int,
        help='override the schedule length of the full trainings')
    parser.add_argument(
        '--train-seed',
        type=int,
        default=0,
        help='first seed of the full trainings')
    parser.add_argument(
        '--workers', type=int, help='worker processes (share the cores)')
    if target:
        parser.add_argument(
            '--target',
            type=float,
            help='cost target (GMACs); default: the median of random '
            'genotypes')
        parser.add_argument('--tolerance', type=float, default=0.1)
    parser.add_argument('--metric')
    parser.add_argument('--storage', help='Optuna storage URL')


def add_comparison_args(parser: argparse.ArgumentParser,
                        work_dir: str) -> None:
    """The options of a comparison of searches at equal compute: searches
    per method and their first seed, the training epochs each may spend,
    full trainings per pick and the work dir."""
    parser.add_argument('--seeds', type=int, help='searches per method (S)')
    parser.add_argument('--first-seed', type=int, default=0)
    parser.add_argument(
        '--budget-epochs',
        type=int,
        help='training epochs each search may spend')
    parser.add_argument(
        '--train-seeds', type=int, help='full trainings per pick (T)')
    parser.add_argument('--work-dir', default=work_dir)


def apply_profile(parser: argparse.ArgumentParser, args: argparse.Namespace,
                  profile: dict,
                  positive: Sequence[str]) -> argparse.Namespace:
    """Fill the settings the command line left out from ``profile`` (a
    tool's named set of defaults), then check that the ``positive`` ones
    are at least 1 (``parser.error`` naming the flag otherwise)."""
    for key, value in profile.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    for key in positive:
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be at least 1, got '
                         f'{getattr(args, key)}')
    return args


def plan_from(cls: Type[Plan], args: argparse.Namespace) -> Plan:
    """The typed plan (a dataclass) of a tool's parsed command line: its
    fields taken from the options of the same name.

    Raises:
        AttributeError: The command line lacks one of the plan's fields.
    """
    return cls(
        **{f.name: getattr(args, f.name)
           for f in dataclasses.fields(cls)})
