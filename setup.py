"""mmvim: Vision Mamba (Vim) for MMSegmentation and MMDetection.

Dependencies are not declared as install_requires on purpose: torch and mmcv must come from the
user's own (CUDA) build, and pip resolving them would replace those builds. requirements/ lists
what the project's own environment installs (tools/setup_env.sh); docs/install.md explains.
"""
from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec((Path(__file__).parent / 'mmvim' / 'version.py').read_text(), version)

setup(
    name='mmvim',
    version=version['__version__'],
    description='Vision Mamba (Vim) backbones, Triton selective scan, and configs for '
    'MMSegmentation and MMDetection',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['mmvim', 'mmvim.*']),
    python_requires='>=3.9',
)
