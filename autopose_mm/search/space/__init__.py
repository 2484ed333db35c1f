"""The search space: architecture weights and their sampling rules, mixed
edges and cells, random genotypes, and the network-level layouts with the
controller that samples them."""
from .cells import MixedCellGraph, MixedGraphs
from .edges import MixedEdges, MixedOp
from .layout import Layout, LayoutController, LayoutSpace
from .params import (
    ArchParams,
    GumbelSampling,
    SamplingRule,
    SinglePathSampling,
    SoftmaxMixing,
    arch_modules,
    build_rule,
    derive_genotype,
    edge_sources,
)
from .sampling import (
    edge_candidates,
    genotype_pairs,
    pair_agreement,
    sample_cell,
    sample_genotype,
    sample_genotypes_at_cost,
)

__all__ = [
    'MixedCellGraph', 'MixedGraphs', 'MixedEdges', 'MixedOp', 'Layout',
    'LayoutController', 'LayoutSpace', 'ArchParams', 'GumbelSampling',
    'SamplingRule', 'SinglePathSampling', 'SoftmaxMixing', 'arch_modules',
    'build_rule', 'derive_genotype', 'edge_sources', 'edge_candidates',
    'genotype_pairs', 'pair_agreement', 'sample_cell', 'sample_genotype',
    'sample_genotypes_at_cost'
]
