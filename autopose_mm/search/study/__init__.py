"""Candidate evaluation as an Optuna study: genotypes as trial parameters
(:mod:`.space`), trainings by rungs with the project's runner
(:mod:`.rungs`), its settings (:mod:`.spec`), the study, its storage,
pruning and workers (:mod:`.engine`), and the front it finds
(:mod:`.front`).

It needs the ``search`` extra (Optuna and SQLAlchemy); importing it
without them names the extra to install.
"""
from . import _requires  # noqa: F401  (first: names the missing extra)
from .engine import (
    StudySpec,
    TrialObjective,
    epochs_spent,
    make_storage,
    open_study,
    resolve_targets,
    run_study,
    run_worker,
    spec_from_config,
)
from .front import (
    hypervolume,
    pareto_front,
    rung_taus,
    search_report,
    trial_rows,
    write_search,
)
from .rungs import RungHook, rung_epochs, train_rungs
from .space import genotype_from_params, genotype_params, suggest_genotype

__all__ = [
    'StudySpec', 'TrialObjective', 'epochs_spent', 'make_storage',
    'open_study', 'resolve_targets', 'run_study', 'run_worker',
    'spec_from_config', 'hypervolume', 'pareto_front', 'rung_taus',
    'search_report', 'trial_rows', 'write_search', 'RungHook', 'rung_epochs',
    'train_rungs', 'genotype_from_params', 'genotype_params',
    'suggest_genotype'
]
