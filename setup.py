"""Packaging for autopose_mm, an MMPose 1.x plugin."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.develop import develop

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_requirements(name: str) -> list:
    """Read the requirement lines of ``requirements/<name>.txt``."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def get_version() -> str:
    scope = {}
    with open(osp.join(HERE, 'autopose_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def add_mim_extension(symlink: bool) -> None:
    """Expose configs/ and tools/ under ``autopose_mm/.mim`` for ``mim``.

    ``mim train autopose_mm CFG`` looks for ``tools/train.py`` and the configs
    inside the installed package; an editable install links them, a regular
    build copies them.
    """
    mim_dir = osp.join(HERE, 'autopose_mm', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if symlink:
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


class Develop(develop):

    def run(self):
        add_mim_extension(symlink=True)
        super().run()


class BuildPy(build_py):

    def run(self):
        # an editable install (PEP 660) links, so that mim sees the
        # checkout's configs and tools as they change; a wheel copies
        add_mim_extension(symlink=getattr(self, 'editable_mode', False))
        super().run()


setup(
    name='autopose_mm',
    version=get_version(),
    description='AutoPose networks and pose architecture search for MMPose',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(
        exclude=('tests', 'tests.*', 'configs', 'tools', 'projects',
                 'projects.*')),
    include_package_data=True,
    package_data={'autopose_mm': ['genotypes/*.json', '.mim/**/*']},
    install_requires=read_requirements('runtime'),
    extras_require={
        'mim':
        read_requirements('mminstall'),
        'search':
        read_requirements('search'),
        'deploy':
        read_requirements('deploy'),
        'tests':
        read_requirements('tests'),
        'all': (read_requirements('mminstall') + read_requirements('search') +
                read_requirements('deploy') + read_requirements('tests')),
    },
    cmdclass={
        'develop': Develop,
        'build_py': BuildPy
    },
    license='Apache License 2.0',
    zip_safe=False,
)
