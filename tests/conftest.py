"""Shared fixtures: generated sample data and a runner for the tools."""
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CFG = osp.join(REPO, 'tests', 'configs', 'tiny_coco.py')

# Tests run in parallel processes on few cores: one thread each.
torch.set_num_threads(1)


def tool_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            [REPO, osp.join(REPO, 'tests', 'configs')] +
            ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])))
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    if extra:
        env.update(extra)
    return env


def run_cmd(
    cmd: List[str],
    cwd: str,
    check: bool = True,
    timeout: int = 3600,  # a hang guard only: no correct run nears it
    env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    """Run a command, returning its output; on an unexpected exit code the
    assertion shows the output's tail."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=tool_env(env),
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    if check:
        assert proc.returncode == 0, (
            f'{" ".join(cmd)} exited with {proc.returncode}:\n'
            f'{proc.stdout[-6000:]}')
    return proc


def run_tool(
        tool: str,
        *args: str,
        cwd: str,
        check: bool = True,
        env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run ``tools/<tool>`` with this interpreter from ``cwd``."""
    script = osp.join(REPO, 'tools', tool)
    cmd = ['bash', script
           ] if tool.endswith('.sh') else [sys.executable, script]
    if tool.endswith('.sh'):
        env = dict(env or {}, PYTHON=sys.executable)
    return run_cmd(cmd + list(args), cwd=cwd, check=check, env=env)


@pytest.fixture(scope='session')
def sample_workspace(tmp_path_factory) -> str:
    """A working directory holding ``data/sample_coco`` and small
    ``data/sample_coco_val400`` and ``data/sample_coco_search400`` (the
    test sets of the proxy and of a search's short trainings), generated."""
    from autopose_mm.datasets import generate_coco
    root = str(tmp_path_factory.mktemp('workspace'))
    generate_coco(
        osp.join(root, 'data', 'sample_coco'),
        num_train=24,
        num_val=8,
        image_size=(128, 128),
        seed=1)
    for name, seed in (('sample_coco_val400', 2), ('sample_coco_search400',
                                                   3)):
        generate_coco(
            osp.join(root, 'data', name),
            num_train=0,
            num_val=8,
            image_size=(128, 128),
            seed=seed)
    return root


def postgres_bin(name: str) -> Optional[str]:
    """A PostgreSQL server program (``initdb``, ``pg_ctl``): on the PATH or
    in Debian's ``/usr/lib/postgresql/<version>/bin``."""
    import glob
    import shutil
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f'/usr/lib/postgresql/*/bin/{name}'))
    return versions[-1] if versions else None


@pytest.fixture(scope='session')
def postgres_url():
    """A PostgreSQL server of its own, started in a temporary directory on
    a free local port for this test session (Debian's ``postgresql``
    package; ``tools/setup_env.sh`` installs it), and the URL of its
    database. As root, the server runs as the ``postgres`` user."""
    import pathlib
    import shutil
    import socket
    import tempfile
    initdb, pg_ctl = postgres_bin('initdb'), postgres_bin('pg_ctl')
    assert initdb and pg_ctl, (
        'PostgreSQL is not installed: the storage tests need its server '
        '(apt-get install postgresql, as bash tools/setup_env.sh does)')
    # a directory of its own: the server's user must reach it, and
    # pytest's temporary root is the test user's alone
    root = pathlib.Path(tempfile.mkdtemp(prefix='autopose-postgres-'))
    data = root / 'data'
    prefix: List[str] = []
    if os.geteuid() == 0:
        # the server refuses to run as root
        shutil.chown(str(root), 'postgres')
        prefix = ['runuser', '-u', 'postgres', '--']
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]

    def run(*cmd: str) -> None:
        proc = subprocess.run(
            prefix + list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600)  # a hang guard only
        assert proc.returncode == 0, f'{cmd[0]} failed:\n{proc.stdout}'

    run(initdb, '-D', str(data), '-U', 'autopose', '--auth=trust')
    run(pg_ctl, '-D', str(data), '-l', str(root / 'server.log'), '-w', '-o',
        f'-p {port} -k {root} -c listen_addresses=127.0.0.1', 'start')
    try:
        yield f'postgresql://autopose:secret@127.0.0.1:{port}/postgres'
    finally:
        run(pg_ctl, '-D', str(data), '-m', 'immediate', 'stop')
        shutil.rmtree(root, ignore_errors=True)
