"""Rewrites of an exported network that keep its function and make its
graph leaner for the CPU runtimes.

- ``strided_reduce`` (on the module, before export): each factorized
  reduction (BN folded) becomes one ReLU and one 2x2 stride-2 convolution
  (``fusion.StridedReduce``) instead of strided slices, two ReLUs, two
  convolutions and a concatenation.
- ``split_shared``: PyTorch runs the ReLU-conv-BN edges that read one state
  as one wider convolution followed by a ``Split``; a runtime computes the
  narrower convolutions as fast and saves the split (and, on ONNX Runtime,
  the layout reorders around it). Each ``Conv -> Split`` on the channels
  becomes one convolution per part, with its slice of the weights.
- ``relu_concat``: a cell's output (the concatenation of its nodes) is read
  by the next cells only through a ReLU; ``ReLU(Concat(nodes))`` becomes
  ``Concat(ReLU(node) ...)``, reusing the ReLUs the cell's own edges already
  apply to its nodes. The wide ReLU goes, and a node sum whose only reader
  is then its ReLU fuses with it.
- ``slim``: onnxslim's graph simplification (constant folding, dead and
  duplicate nodes removed: the ReLUs that several edges apply to the same
  state become one, which the runtimes then fuse into the convolution
  before it where nothing else reads its output).

:data:`DEFAULT_PASSES` are the ones the export tool applies unless told
otherwise, chosen by measuring both runtimes (see ``docs/benchmarks.md``).
"""
from collections import defaultdict
from typing import Dict, List, Sequence

from ..utils.extras import require

GRAPH_PASSES = ('strided_reduce', 'split_shared', 'relu_concat', 'slim')
# slim measured neutral on both runtimes (PyTorch's exporter already
# merges the duplicate ReLUs): available, not on by default
DEFAULT_PASSES = ('strided_reduce', 'split_shared', 'relu_concat')


def _attribute(node, name: str, default=None):
    from onnx import helper
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _constants(graph) -> Dict:
    """Every constant tensor of ``graph`` by name: the initializers, the
    outputs of ``Constant`` nodes and of ``Identity`` nodes of constants
    (how PyTorch exports a weight it reads twice), as numpy arrays."""
    from onnx import numpy_helper
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == 'Constant' and _attribute(node,
                                                     'value') is not None:
            values[node.output[0]] = numpy_helper.to_array(
                _attribute(node, 'value'))
        elif node.op_type == 'Identity' and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return values


def _split_sizes(split, constants: Dict, channels: int) -> List[int]:
    """The channel counts of a ``Split`` node's outputs."""
    sizes = _attribute(split, 'split')
    if sizes is None and len(split.input) > 1 and split.input[1]:
        if split.input[1] not in constants:
            return []
        sizes = constants[split.input[1]].tolist()
    if sizes is None:  # equal parts
        parts = len(split.output)
        if channels % parts:
            return []
        sizes = [channels // parts] * parts
    return [int(s) for s in sizes]


def split_shared_convs(proto) -> int:
    """Replace every ``Conv`` whose only reader is a ``Split`` of its
    channels by one ``Conv`` per part, in place.

    Returns:
        int: How many convolutions were split.
    """
    from onnx import helper, numpy_helper
    graph = proto.graph
    constants = _constants(graph)
    readers = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)
    graph_outputs = {o.name for o in graph.output}
    replaced: Dict[int, list] = {}  # id of a Conv -> its replacement
    dropped = set()  # ids of the Splits they absorb
    for node in graph.node:
        if node.op_type != 'Conv' or _attribute(node, 'group', 1) != 1:
            continue
        out = node.output[0]
        if out in graph_outputs or len(readers[out]) != 1:
            continue
        split = readers[out][0]
        if split.op_type != 'Split' or _attribute(split, 'axis', 0) != 1:
            continue
        if node.input[1] not in constants or (len(node.input) > 2 and
                                              node.input[2] not in constants):
            continue
        weight = constants[node.input[1]]
        bias = constants[node.input[2]] if len(node.input) > 2 else None
        sizes = _split_sizes(split, constants, weight.shape[0])
        if sum(sizes) != weight.shape[0] or len(sizes) != len(split.output):
            continue
        parts, start = [], 0
        for k, (size, name) in enumerate(zip(sizes, split.output)):
            inputs = [node.input[0]]
            for tensor, suffix in ((weight, 'w'), (bias, 'b')):
                if tensor is None:
                    continue
                init = numpy_helper.from_array(
                    tensor[start:start + size].copy(),
                    f'{node.name or out}_part{k}_{suffix}')
                graph.initializer.append(init)
                inputs.append(init.name)
            part = helper.make_node(
                'Conv', inputs, [name], name=f'{node.name or out}_part{k}')
            part.attribute.extend(node.attribute)
            parts.append(part)
            start += size
        replaced[id(node)] = parts
        dropped.add(id(split))
    if not replaced:
        return 0
    nodes = []
    for node in graph.node:
        if id(node) in dropped:
            continue
        nodes.extend(replaced.get(id(node), [node]))
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unused_initializers(graph)
    return len(replaced)


def relu_through_concat(proto) -> int:
    """Rewrite every ``Relu(Concat(x_1 .. x_k))`` whose concatenation has
    no other reader as ``Concat(Relu(x_1) .. Relu(x_k))``, reusing an
    existing ``Relu`` of an ``x_i`` where there is one, in place.

    Returns:
        int: How many ReLUs were moved.
    """
    from onnx import helper
    graph = proto.graph
    readers = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)
    graph_outputs = {o.name for o in graph.output}
    relu_of = {}  # tensor -> the output of a Relu reading it
    for node in graph.node:
        if node.op_type == 'Relu':
            relu_of.setdefault(node.input[0], node.output[0])
    producer = {o: n for n in graph.node for o in n.output}
    moved, added, dropped = 0, [], set()
    for relu in list(graph.node):
        concat = producer.get(
            relu.input[0]) if relu.op_type == 'Relu' else None
        if (concat is None or concat.op_type != 'Concat'
                or len(readers[concat.output[0]]) != 1
                or concat.output[0] in graph_outputs):
            continue
        inputs = []
        for x in concat.input:
            if x not in relu_of:
                new = helper.make_node(
                    'Relu', [x], [f'{x}_relu'], name=f'{x}_relu')
                added.append(new)
                relu_of[x] = new.output[0]
            inputs.append(relu_of[x])
        del concat.input[:]
        concat.input.extend(inputs)
        concat.output[0] = relu.output[0]
        dropped.add(id(relu))
        moved += 1
    if moved:
        nodes = [n for n in graph.node if id(n) not in dropped] + added
        del graph.node[:]
        graph.node.extend(_topological(nodes, graph))
    return moved


def _topological(nodes: list, graph) -> list:
    """``nodes`` ordered so that every node follows its inputs'
    producers (stable: the given order where it already holds)."""
    ready = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    ready.add('')  # an omitted optional input
    pending, ordered = list(nodes), []
    while pending:
        rest = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ValueError('the graph has a cycle or a missing input')
        pending = rest
    return ordered


def _drop_unused_initializers(graph) -> None:
    """Drop the initializers and ``Constant`` nodes nothing reads."""
    used = {name for node in graph.node for name in node.input}
    used |= {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = [
        n for n in graph.node if n.op_type != 'Constant' or n.output[0] in used
    ]
    del graph.node[:]
    graph.node.extend(nodes)


def slim(proto):
    """onnxslim's simplification of ``proto``; returns the new proto."""
    onnxslim = require('onnxslim')
    return onnxslim.slim(proto)


def check_passes(passes: Sequence[str]) -> None:
    """Refuse a pass name that is not one of :data:`GRAPH_PASSES`."""
    unknown = set(passes) - set(GRAPH_PASSES)
    if unknown:
        raise ValueError(f'unknown graph passes {sorted(unknown)}; choose '
                         f'from {", ".join(GRAPH_PASSES)}')


def apply_passes(proto, passes: Sequence[str]):
    """Apply the named :data:`GRAPH_PASSES` that rewrite the ONNX graph,
    in their canonical order (``strided_reduce`` rewrites the module and is
    the exporter's, see ``export.prepare_for_export``);
    returns the (possibly new) proto."""
    check_passes(passes)
    if 'split_shared' in passes:
        split_shared_convs(proto)
    if 'relu_concat' in passes:
        relu_through_concat(proto)
    if 'slim' in passes:
        proto = slim(proto)
    return proto
