"""hrvision: HRNet multi-task dense prediction toolkit.

``heads/``, ``tasks/`` and ``configs/`` stay at the repository root (the design card's layout) and install through
``package_dir`` as ``hrvision.heads``, ``hrvision.tasks`` and ``hrvision/configs`` (the configs as package data: they
have no ``__init__.py``, mmengine reads them as files). No generic top-level package lands in site-packages, and the
source is one tree (no links). An editable install (``pip install -e .``) maps the same names onto the folders
here; ``hrvision.configs_path`` finds the configs in either layout. Exact pins live in constraints.txt.
"""
from setuptools import find_namespace_packages, find_packages, setup

MAPPED = {'hrvision.heads': 'heads', 'hrvision.tasks': 'tasks', 'hrvision.configs': 'configs'}  # installed -> folder


def _packages() -> list[str]:
    found = find_packages(include=['hrvision', 'hrvision.*'])
    for name, folder in MAPPED.items():
        find = find_namespace_packages if name == 'hrvision.configs' else find_packages
        found += [name] + [f'{name}.{sub}' for sub in find(where=folder, exclude=['*__pycache__*'])]
    return found


setup(
    name='hrvision',
    version='0.1.0',
    description='HRNet backbones, heads and tasks (pose, segmentation, face landmarks, detection) on mmengine',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=_packages(),
    package_dir=MAPPED,
    include_package_data=False,
    install_requires=[
        'torch>=2.14.1', 'torchvision>=0.29.1', 'timm>=1.0.31', 'segmentation-models-pytorch>=0.6.0',
        'mmengine-lite>=0.10.7,<0.11', 'opencv-python-headless>=5.0.0.93', 'matplotlib>=3.11.2',
        'numpy>=2.4.6', 'scikit-image>=0.26.0', 'pycocotools>=2.0.11', 'pyyaml', 'safetensors', 'huggingface_hub',
        'tqdm', 'pillow', 'scipy',
    ],
    extras_require={'posetrack': ['motmetrics>=1.4.0'],  # PoseTrack MOTA (CLEAR-MOT accumulation)
                    'tensorboard': ['tensorboard>=2.21.0'],  # hrvision train --tensorboard
                    'onnx': ['onnx>=1.23.2', 'onnxruntime>=1.32.0'],  # export --format onnx, --backend onnxruntime
                    'openvino': ['openvino>=2026.4.1'],  # --backend openvino (on the file export --format onnx writes)
                    'cofw': ['h5py>=3.16.0']},  # COFW's MATLAB v7.3 (HDF5) .mat files
    entry_points={'console_scripts': ['hrvision = hrvision.cli:main']},
)
