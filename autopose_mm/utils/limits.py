"""Bounds on what the package reads, so that a small hostile or broken file
cannot exhaust memory, and bounded readers for JSON and YAML.

Each limit can be raised (or lowered) with the environment variable named
beside it; ``docs/safety.md`` lists them.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import yaml

_LIMITS: Dict[str, Tuple[str, int]] = {
    # name: (environment variable, default)
    'genotype_bytes': ('AUTOPOSE_MAX_GENOTYPE_BYTES', 2**20),
    'data_file_bytes': ('AUTOPOSE_MAX_DATA_FILE_BYTES', 2 * 2**30),
    'genotype_items': ('AUTOPOSE_MAX_GENOTYPE_ITEMS', 10**5),
    'nesting': ('AUTOPOSE_MAX_NESTING', 64),
    'checkpoint_bytes': ('AUTOPOSE_MAX_CHECKPOINT_BYTES', 16 * 2**30),
    'image_pixels': ('AUTOPOSE_MAX_IMAGE_PIXELS', 100 * 10**6),
    # the network's size, checked before any layer is built
    'num_cells': ('AUTOPOSE_MAX_CELLS', 100),
    'channels': ('AUTOPOSE_MAX_CHANNELS', 512),
}


def limit(name: str) -> int:
    """The bound ``name`` (see :data:`_LIMITS`), from its environment
    variable when set."""
    variable, default = _LIMITS[name]
    raw = os.environ.get(variable)
    if raw is None:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise ValueError(f'environment variable {variable}={raw!r} must be '
                         f'a number') from None
    if value <= 0:
        raise ValueError(f'environment variable {variable}={raw!r} must be '
                         f'positive')
    return value


def limit_hint(name: str) -> str:
    """``'(limit N, set AUTOPOSE_... to change it)'`` for messages."""
    return f'(limit {limit(name)}, set {_LIMITS[name][0]} to change it)'


class StructureError(ValueError):
    """A JSON or YAML file that is not data of a bounded size and depth."""


def check_bounded(data: Any, where: str, items: int, nesting: int) -> None:
    """Walk ``data`` and refuse it when it holds more than ``items`` values
    or nests deeper than ``nesting``. The walk stops at the bound, so a
    structure that shares its parts (YAML aliases) costs no more to refuse
    than to accept.

    Raises:
        StructureError: Naming ``where`` and the bound.
    """
    count = 0
    stack: List[Tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > items:
            raise StructureError(
                f'{where} holds more than {items} values (YAML aliases '
                f'expand to copies of their anchor); refusing to load it')
        if depth > nesting:
            raise StructureError(
                f'{where} nests deeper than {nesting} levels; refusing to '
                f'load it')
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            count += len(node)
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a mapping key given twice."""


def _construct_mapping(loader: yaml.SafeLoader,
                       node: yaml.MappingNode,
                       deep: bool = False) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in keys:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f'key {key!r} is given twice', mark)
        keys.add(key if isinstance(key, (str, int, float, bool)) else id(key))
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _unique_pairs(pairs: List[Tuple[str, Any]]) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise StructureError(f'key {key!r} is given twice')
        out[key] = value
    return out


def read_structured(path: str,
                    what: str,
                    max_bytes: int,
                    items: int,
                    bytes_limit: str = 'data_file_bytes',
                    yaml_ok: Optional[bool] = None) -> Any:
    """Read a JSON (or, by extension, YAML) file as plain data, within
    bounds: its size, the number of values once aliases are expanded, the
    nesting depth; keys given twice are refused; the text must be UTF-8.

    Args:
        path (str): The file.
        what (str): What the file is (``'genotype file'``), for messages.
        max_bytes (int): Largest file size accepted.
        items (int): Most values a YAML file may expand to (see
            :func:`check_bounded`).
        bytes_limit (str): The name of the size limit, for the message.
        yaml_ok (bool, optional): Read YAML; default: by the extension.

    Raises:
        ValueError: Naming the file and what is wrong (syntax with line and
            column, encoding, size, depth).
    """
    size = osp.getsize(path)
    if size > max_bytes:
        raise StructureError(
            f'{what} {path!r} is {size} bytes, larger than this package '
            f'reads {limit_hint(bytes_limit)}')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise StructureError(
            f'{what} {path!r} is not UTF-8 text (byte {e.start}); save it '
            f'as UTF-8 JSON') from None
    if yaml_ok is None:
        yaml_ok = path.lower().endswith(('.yaml', '.yml'))
    try:
        if yaml_ok:
            data = yaml.load(text, Loader=_UniqueKeyLoader)
        else:
            data = json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as e:
        raise StructureError(
            f'{what} {path!r} is not valid JSON: {e.msg} (line {e.lineno}, '
            f'column {e.colno})') from None
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        at = (f' (line {mark.line + 1}, column {mark.column + 1})'
              if mark is not None else '')
        raise StructureError(
            f'{what} {path!r} is not valid YAML: '
            f'{getattr(e, "problem", None) or e}{at}') from None
    except StructureError as e:
        raise StructureError(f'{what} {path!r}: {e}') from None
    except RecursionError:
        raise StructureError(
            f'{what} {path!r} nests too deeply to be read; refusing to load '
            f'it') from None
    if yaml_ok:  # JSON cannot share values: its size is the file's
        check_bounded(data, f'{what} {path!r}', items, limit('nesting'))
    return data
