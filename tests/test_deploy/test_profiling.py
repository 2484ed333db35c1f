"""The profile summaries: which operator types count as multiply-add
kernels and as convolutions."""
import pytest

from autopose_mm.deploy.profiling import conv_share, mac_kernel_ms


def test_multiply_add_kernels_are_convolutions_and_matrix_products():
    # OpenVINO and ONNX Runtime names after their fusions
    ops = {
        'Convolution': 2.0,
        'GroupConvolution': 0.5,
        'FusedConv': 1.0,
        'FullyConnectedQuantizedLegacy': 0.25,
        'MatMul': 0.125,
        'Gemm': 0.0625,
        'Concat': 4.0,
        'Reorder': 8.0,
    }
    assert mac_kernel_ms(ops) == pytest.approx(3.9375)
    assert conv_share(ops) == pytest.approx(3.5 / 15.9375)
    assert mac_kernel_ms({'Concat': 1.0}) == 0
