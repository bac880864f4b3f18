"""Locate the configs shipped with hrvision (``configs/`` at the repo root, ``hrvision/configs`` when installed)."""
from __future__ import annotations

import os
import os.path as osp

CONFIG_ROOT = osp.join(osp.dirname(osp.abspath(__file__)), 'configs')


def config_path(name: str) -> str:
    """``'segmentation/demo_synthetic.py'`` -> absolute path; a path that exists is returned unchanged."""
    if osp.isfile(name):
        return name
    path = osp.join(CONFIG_ROOT, name)
    if not osp.isfile(path):
        avail = sorted(osp.relpath(osp.join(d, f), CONFIG_ROOT) for d, _, fs in os.walk(CONFIG_ROOT)
                       for f in fs if f.endswith('.py') and '_base_' not in d)
        raise FileNotFoundError(f'config {name!r} not found; shipped configs: {avail}')
    return path
