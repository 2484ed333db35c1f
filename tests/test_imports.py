"""The package's import rules, read from the source: the fixed networks
import nothing of the search, the engine or deployment; the utilities
nothing of the package outside themselves; no module imports the package's
own modules inside a function; and the module graph has no cycle."""
import ast
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
from conftest import REPO, TINY_CFG, run_cmd

PACKAGE = 'autopose_mm'
ROOT = Path(REPO) / PACKAGE


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts = parts[:-1]
    return '.'.join(parts)


# the package's own modules: not the configs and tools that an install
# links or copies into ``.mim`` for mim
MODULES: Dict[str, Path] = {
    _module_name(p): p
    for p in sorted(ROOT.rglob('*.py')) if '.mim' not in p.parts
}


def _resolve(module: str, node: ast.ImportFrom) -> List[str]:
    """The package's own modules that ``node``, found in ``module``,
    names."""
    if node.level:
        is_package = MODULES[module].name == '__init__.py'
        base = module.split('.')
        base = base[:len(base) - node.level + (1 if is_package else 0)]
        target = '.'.join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ''
    if target != PACKAGE and not target.startswith(PACKAGE + '.'):
        return []
    names = []
    for alias in node.names:  # ``from . import x`` may name a submodule
        sub = f'{target}.{alias.name}'
        names.append(sub if sub in MODULES else target)
    return sorted(set(names))


def _imports(module: str) -> List[Tuple[str, bool]]:
    """``(imported module of the package, inside a function)`` for every
    import statement of ``module``."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                found.extend((m, nested) for m in _resolve(module, child))
            elif isinstance(child, ast.Import):
                found.extend((a.name, nested) for a in child.names
                             if a.name.split('.')[0] == PACKAGE)
            visit(child, nested)

    visit(tree, False)
    return found


GRAPH: Dict[str, Set[str]] = {
    m: {target
        for target, _ in _imports(m)}
    for m in MODULES
}


def test_the_graph_is_read():
    # a few edges known to exist, so the rules below cannot pass vacuously
    assert 'autopose_mm.models.genotype' in GRAPH['autopose_mm.models.cells']
    assert 'autopose_mm.models.plan' in GRAPH['autopose_mm.search.costs.macs']
    assert 'autopose_mm.utils.io' in GRAPH['autopose_mm.search.loops']
    assert len(MODULES) > 40


@pytest.mark.parametrize('package, forbidden', [
    ('models', ('search', 'engine', 'deploy')),
    ('utils', ('datasets', 'deploy', 'engine', 'models', 'search', 'patches')),
    ('datasets', ('search', 'engine', 'deploy')),
    ('deploy', ('search', )),
])
def test_layers_import_only_what_is_below_them(package, forbidden):
    bad = [(m, t) for m, targets in GRAPH.items()
           if m.startswith(f'{PACKAGE}.{package}') for t in targets if any(
               t.startswith(f'{PACKAGE}.{f}') for f in forbidden)]
    assert not bad, f'{package} must not import {forbidden}: {bad}'


def test_no_function_imports_the_package():
    local = [(m, t) for m in MODULES for t, nested in _imports(m) if nested]
    assert not local, f'imports of the package inside functions: {local}'


def test_the_module_graph_has_no_cycle():
    done: Set[str] = set()

    def walk(module: str, path: List[str]) -> None:
        if module in path:
            cycle = path[path.index(module):] + [module]
            raise AssertionError(f'import cycle: {" -> ".join(cycle)}')
        if module in done:
            return
        for target in sorted(GRAPH.get(module, ())):
            walk(target, path + [module])
        done.add(module)

    for module in sorted(GRAPH):
        walk(module, [])


def test_a_cycle_would_be_found(monkeypatch):
    monkeypatch.setitem(
        GRAPH, 'autopose_mm.models.genotype',
        GRAPH['autopose_mm.models.genotype']
        | {'autopose_mm.models.cells'})
    with pytest.raises(AssertionError, match='import cycle'):
        test_the_module_graph_has_no_cycle()


def test_every_module_is_short():
    long = {
        osp.relpath(p, REPO): n
        for p in MODULES.values()
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert not long, f'modules over 500 lines: {long}'


def _foreign_imports(module: str) -> Set[str]:
    """Top-level names of everything ``module`` imports, at any depth."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split('.')[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add((node.module or '').split('.')[0])
    return names


def test_the_package_never_imports_the_lab():
    lab = {
        p.name
        for p in (Path(REPO) / 'projects').glob('*/*')
        if (p / '__init__.py').is_file()
    }
    assert 'search_eval' in lab  # the rule below reads real names
    bad = {
        m: names & (lab | {'projects'})
        for m in MODULES
        if (names := _foreign_imports(m)) & (lab | {'projects'})
    }
    assert not bad, f'the package imports the lab: {bad}'


OPTIONAL = ('optuna', 'sqlalchemy', 'onnx', 'onnxruntime', 'onnxslim',
            'openvino', 'nncf')


def test_importing_and_training_loads_no_optional_library(
        sample_workspace, tmp_path):
    """``import autopose_mm`` and a training through MMEngine's runner (the
    tiny config, one epoch) load none of the search's or deployment's
    libraries, in a fresh interpreter."""
    code = f'''
import sys
import autopose_mm
loaded = sorted(m for m in {OPTIONAL!r} if m in sys.modules)
assert not loaded, f'import autopose_mm loaded {{loaded}}'
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile({TINY_CFG!r})
cfg.work_dir = {str(tmp_path)!r}
cfg.train_cfg.max_epochs = 1
cfg.train_cfg.val_interval = 1
Runner.from_cfg(cfg).train()
loaded = sorted(m for m in {OPTIONAL!r} if m in sys.modules)
assert not loaded, f'training loaded {{loaded}}'
print('none loaded')
'''
    proc = run_cmd([sys.executable, '-c', code], cwd=sample_workspace)
    assert 'none loaded' in proc.stdout


def test_a_missing_extra_is_named(monkeypatch):
    from autopose_mm.utils.extras import EXTRAS, require
    assert set(OPTIONAL) == set(EXTRAS)
    monkeypatch.setitem(sys.modules, 'openvino', None)  # as if absent
    with pytest.raises(ImportError, match=r'autopose-mm\[deploy\]'):
        require('openvino')
    monkeypatch.setitem(sys.modules, 'optuna', None)
    with pytest.raises(ImportError, match=r'autopose-mm\[search\]'):
        require('optuna')
