"""Candidate operations of the AutoPose search space.

Every operation maps ``C`` channels to ``C`` channels at stride 1 or 2. The
names are the ones used in genotype files. :data:`OPERATION_SPECS` is the
one table of them (:class:`OpSpec`: how to build, search, count and draw
each); :func:`build_operation` turns a name into a module.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

DEFAULT_NORM_CFG = dict(type='BN', momentum=0.1)


@MODELS.register_module()
class Zero(nn.Module):
    """The ``none`` operation: zeros, subsampled when ``stride`` is 2."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            return x.mul(0.)
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


@MODELS.register_module()
class ReLUConvBN(nn.Module):
    """ReLU, convolution without bias, then normalisation.

    Serves the ``std_conv_*`` and ``dil_conv_*`` operations and the 1x1
    projections that feed every cell.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Convolution kernel size.
        stride (int): Convolution stride. Defaults to 1.
        dilation (int): Convolution dilation. Defaults to 1.
        conv_cfg (dict, optional): Config of the convolution layer.
        norm_cfg (dict): Config of the normalisation layer.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 dilation: int = 1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.relu = nn.ReLU(inplace=False)
        self.conv = build_conv_layer(
            conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(self.relu(x)))


def shared_input_key(op: nn.Module) -> Optional[tuple]:
    """Ops with equal keys that read the same tensor can run as one
    convolution (see :func:`run_shared_input`); ``None`` if ``op`` cannot."""
    if not isinstance(op, ReLUConvBN) or type(op.conv) is not nn.Conv2d:
        return None
    conv = op.conv
    return (conv.in_channels, conv.kernel_size, conv.stride, conv.dilation,
            conv.padding, conv.bias is None)


def run_shared_input(ops: Sequence[ReLUConvBN], x: Tensor) -> List[Tensor]:
    """Apply ReLU-conv-BN ops of one :func:`shared_input_key` to ``x`` as a
    single convolution (their weights concatenated on the fly), each keeping
    its own normalisation: the same result as ``[op(x) for op in ops]``,
    with one ReLU and one wider convolution instead of several narrow ones.
    """
    conv = ops[0].conv
    weight = torch.cat([op.conv.weight for op in ops])
    bias = None  # convs carry a bias once BN is fused into them
    if conv.bias is not None:
        bias = torch.cat([op.conv.bias for op in ops])
    y = nn.functional.conv2d(
        nn.functional.relu(x), weight, bias, conv.stride, conv.padding,
        conv.dilation)
    parts = y.split([op.conv.out_channels for op in ops], dim=1)
    return [op.bn(part) for op, part in zip(ops, parts)]


def offset_subsamples(x: Tensor) -> Tuple[Tensor, Tensor]:
    """The even and the odd pixels of ``x`` (every other row and column,
    starting at 0 and at 1), the odd ones zero-padded at the end to the
    size of the even ones.

    A 1x1 stride-2 convolution of ``x`` equals the 1x1 convolution of the
    even pixels, and that of ``x[:, :, 1:, 1:]`` padded to ``x``'s size the
    convolution of the odd ones; subsampling first avoids the strided
    convolution's slow gradient.
    """
    even = x[:, :, ::2, ::2]
    odd = x[:, :, 1::2, 1::2]
    if odd.shape[-2:] != even.shape[-2:]:
        odd = nn.functional.pad(odd, (0, even.shape[-1] - odd.shape[-1], 0,
                                      even.shape[-2] - odd.shape[-2]))
    return even, odd


@MODELS.register_module()
class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset 1x1 stride-2 convolutions.

    The two halves of the output are 1x1 convolutions of the even and of the
    odd pixels of the input (see :func:`offset_subsamples`), so the
    convolutions themselves have stride 1.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels; must be even.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict): Config of the normalisation layer.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(
                f'FactorizedReduce needs an even out_channels, got '
                f'{out_channels}')
        half = out_channels // 2
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = build_conv_layer(
            conv_cfg, in_channels, half, 1, bias=False)
        self.conv_2 = build_conv_layer(
            conv_cfg, in_channels, half, 1, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        even, odd = offset_subsamples(x)
        out = torch.cat(
            [self.conv_1(self.relu(even)),
             self.conv_2(self.relu(odd))], dim=1)
        return self.bn(out)


@MODELS.register_module()
class PoolBN(nn.Module):
    """3x3 average or max pooling followed by normalisation.

    Args:
        pool_type (str): ``'avg'`` or ``'max'``.
        channels (int): Channels of the input and output.
        stride (int): Pooling stride. Defaults to 1.
        norm_cfg (dict): Config of the normalisation layer.
    """

    def __init__(self,
                 pool_type: str,
                 channels: int,
                 stride: int = 1,
                 norm_cfg: ConfigType = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        if pool_type == 'avg':
            self.pool = nn.AvgPool2d(
                3, stride=stride, padding=1, count_include_pad=False)
        elif pool_type == 'max':
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            raise ValueError(
                f"pool_type must be 'avg' or 'max', got {pool_type!r}")
        self.bn = build_norm_layer(norm_cfg, channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.pool(x))


@MODELS.register_module()
class SEConnect(nn.Module):
    """Squeeze-and-excitation gate applied to its own input (stride 1 only).

    Args:
        channels (int): Channels of the input and output.
        ratio (int): Channel reduction of the squeeze. Defaults to 2.
        conv_cfg (dict, optional): Config of the convolution layers.
    """

    def __init__(self,
                 channels: int,
                 ratio: int = 2,
                 conv_cfg: OptConfigType = None) -> None:
        super().__init__()
        hidden = max(1, channels // ratio)
        self.squeeze = build_conv_layer(
            conv_cfg, channels, hidden, 1, bias=True)
        self.excite = build_conv_layer(
            conv_cfg, hidden, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        w = x.mean(dim=(2, 3), keepdim=True)
        w = torch.sigmoid(self.excite(torch.relu(self.squeeze(w))))
        return x * w


OpFactory = Callable[[int, int, OptConfigType, ConfigType], nn.Module]


@dataclass(frozen=True)
class OpSpec:
    """Everything the package knows about one candidate operation.

    The fixed cells build it (``build``), the mixed edges of the search
    compute it (a fused path per ``kind``; any other kind runs the built
    modules edge by edge), :func:`~autopose_mm.search.costs.analytic_macs`
    counts it (:meth:`macs`), random genotypes and the search masks respect
    ``strides``, and the pictures draw it in ``color``.

    Args:
        name (str): The name used in genotype files.
        build (OpFactory): ``build(channels, stride, conv_cfg, norm_cfg)``
            returns the module (``channels`` in and out).
        kind (str): ``'zero'``, ``'identity'`` (a factorized reduce at
            stride 2), ``'pool'``, ``'conv'`` (ReLU-conv-BN), ``'se'`` or
            ``'module'`` (anything else: no fused search path).
        strides (tuple[int]): Strides at which it is defined.
        kernel (int): Kernel size of a ``'conv'``.
        dilation (int): Dilation of a ``'conv'``.
        pool (str, optional): ``'avg'`` or ``'max'`` for a ``'pool'``.
        color (str): Its colour in the pictures.
        count_macs (callable, optional): ``count_macs(channels, out_h,
            out_w, stride)`` for a ``'module'``.
    """
    name: str
    build: OpFactory
    kind: str = 'module'
    strides: Tuple[int, ...] = (1, 2)
    kernel: int = 0
    dilation: int = 1
    pool: Optional[str] = None
    color: str = 'black'
    count_macs: Optional[Callable[[int, int, int, int], int]] = None

    def macs(self, channels: int, out_h: int, out_w: int, stride: int) -> int:
        """Multiply-accumulates of the conv and linear layers of one edge
        producing ``channels`` x ``out_h`` x ``out_w``."""
        c, pixels = channels, out_h * out_w
        if self.kind == 'conv':
            return pixels * c * c * self.kernel**2
        if self.kind == 'identity':  # two 1x1 convs to c/2 at stride 2
            return pixels * c * c if stride == 2 else 0
        if self.kind == 'se':
            return 2 * c * max(1, c // 2)
        if self.count_macs is not None:
            return self.count_macs(c, out_h, out_w, stride)
        return 0


def _conv(kernel: int, dilation: int = 1) -> OpFactory:
    return lambda c, s, conv, norm: ReLUConvBN(c, c, kernel, s, dilation, conv,
                                               norm)


def _pool(pool_type: str) -> OpFactory:
    return lambda c, s, conv, norm: PoolBN(pool_type, c, s, norm)


def _skip(c: int, s: int, conv: OptConfigType, norm: ConfigType) -> nn.Module:
    return nn.Identity() if s == 1 else FactorizedReduce(c, c, conv, norm)


# The candidate operations, in alpha order. Adding an operation is one
# entry here (kind 'module' unless it is one of the fused kinds).
OPERATION_SPECS: Dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec(
            'none', lambda c, s, conv, norm: Zero(s), 'zero', color='#bbbbbb'),
        OpSpec('skip_connect', _skip, 'identity', color='#4c72b0'),
        OpSpec(
            'avg_pool_3x3', _pool('avg'), 'pool', pool='avg', color='#55a868'),
        OpSpec(
            'max_pool_3x3', _pool('max'), 'pool', pool='max', color='#8c8c3c'),
        OpSpec('std_conv_1x1', _conv(1), 'conv', kernel=1, color='#c44e52'),
        OpSpec('std_conv_3x3', _conv(3), 'conv', kernel=3, color='#dd8452'),
        OpSpec(
            'dil_conv_3x3_2',
            _conv(3, 2),
            'conv',
            kernel=3,
            dilation=2,
            color='#8172b3'),
        OpSpec(
            'dil_conv_3x3_4',
            _conv(3, 4),
            'conv',
            kernel=3,
            dilation=4,
            color='#937860'),
        OpSpec(
            'se_connect',
            lambda c, s, conv, norm: SEConnect(c, conv_cfg=conv),
            'se',
            strides=(1, ),
            color='#da8bc3'),
    )
}
OPERATION_NAMES: Tuple[str, ...] = tuple(OPERATION_SPECS)

OP_KINDS = ('zero', 'identity', 'pool', 'conv', 'se', 'module')


def register_operation(spec: OpSpec, force: bool = False) -> OpSpec:
    """Add a candidate operation: the fixed cells, the search space, the
    cost counts and the pictures take it from here on (a search lists it in
    its ``candidates``; :data:`OPERATION_NAMES` keeps the built-in ones).

    Args:
        spec (OpSpec): The operation.
        force (bool): Replace an operation of the same name.

    Returns:
        OpSpec: ``spec``.

    Raises:
        ValueError: For a name taken (without ``force``), an unknown
            ``kind``, no strides, or a ``'module'`` without ``count_macs``.
    """
    if not isinstance(spec, OpSpec):
        raise TypeError(f'register_operation takes an OpSpec, got '
                        f'{type(spec).__name__}')
    if spec.name in OPERATION_SPECS and not force:
        raise ValueError(f'operation {spec.name!r} is already registered; '
                         f'pass force=True to replace it')
    if spec.kind not in OP_KINDS:
        raise ValueError(f'operation {spec.name!r}: kind must be one of '
                         f'{", ".join(OP_KINDS)}, got {spec.kind!r}')
    if not spec.strides or any(s not in (1, 2) for s in spec.strides):
        raise ValueError(f'operation {spec.name!r}: strides must be a '
                         f'non-empty subset of (1, 2), got {spec.strides!r}')
    if spec.kind == 'module' and spec.count_macs is None:
        raise ValueError(f'operation {spec.name!r} of kind "module" needs '
                         f'count_macs(channels, out_h, out_w, stride) for '
                         f'the analytic GMACs')
    OPERATION_SPECS[spec.name] = spec
    return spec


def operation_spec(name: str) -> OpSpec:
    """The :class:`OpSpec` of ``name``.

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    if name not in OPERATION_SPECS:
        raise ValueError(f'unknown operation {name!r}; allowed operations: '
                         f'{", ".join(OPERATION_SPECS)}')
    return OPERATION_SPECS[name]


def supports_stride(name: str, stride: int) -> bool:
    """Whether operation ``name`` is defined at ``stride``."""
    return stride in operation_spec(name).strides


def build_operation(name: str,
                    channels: int,
                    stride: int = 1,
                    conv_cfg: OptConfigType = None,
                    norm_cfg: Optional[ConfigType] = None) -> nn.Module:
    """Build the candidate operation ``name``.

    Args:
        name (str): One of :data:`OPERATION_SPECS`.
        channels (int): Channels of the input and output.
        stride (int): 1, or 2 to halve the resolution.
        conv_cfg (dict, optional): Config of the convolution layers.
        norm_cfg (dict, optional): Config of the normalisation layers.

    Returns:
        nn.Module: The operation.
    """
    spec = operation_spec(name)
    if stride not in spec.strides:
        raise ValueError(
            f'operation {name!r} is not defined at stride {stride}; it '
            f'supports stride {", ".join(map(str, spec.strides))}')
    return spec.build(channels, stride, conv_cfg, norm_cfg or DEFAULT_NORM_CFG)
