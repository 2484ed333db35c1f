"""The optional libraries, by the extra of the package that installs them.

Training and testing need none of them; the Optuna study needs the
``search`` extra, export, timing and quantization the ``deploy`` extra.
Each is imported where it is used, through :func:`require`.
"""
import importlib
from types import ModuleType

__all__ = ['EXTRAS', 'require']

# module -> the extra (``pip install "autopose-mm[<extra>]"``) that brings it
EXTRAS = {
    'optuna': 'search',
    'sqlalchemy': 'search',
    'onnx': 'deploy',
    'onnxruntime': 'deploy',
    'onnxslim': 'deploy',
    'openvino': 'deploy',
    'nncf': 'deploy',
}


def require(module: str) -> ModuleType:
    """Import an optional library.

    Args:
        module (str): A key of :data:`EXTRAS`.

    Returns:
        module: The imported library.

    Raises:
        ImportError: It is not installed; names the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS[module.split('.')[0]]
        raise ImportError(
            f'{module} is not installed; it comes with the {extra!r} extra: '
            f'pip install "autopose-mm[{extra}]" (or pip install -r '
            f'requirements/{extra}.txt in a checkout)') from e
