"""Locate the configs shipped with hrvision.

Installed from a wheel they are package data in ``hrvision/configs``; in a source checkout (also what an editable
install points at) they are the repository's top-level ``configs/`` beside this package (setup.py maps that folder
to ``hrvision/configs`` when it builds). No link joins the two.
"""
from __future__ import annotations

import os
import os.path as osp

_PACKAGE = osp.dirname(osp.abspath(__file__))


def _config_root() -> str:
    installed = osp.join(_PACKAGE, 'configs')
    if osp.isdir(installed):
        return installed
    repo = osp.dirname(_PACKAGE)   # a source checkout: only with its setup.py, never a site-packages 'configs'
    if osp.isfile(osp.join(repo, 'setup.py')) and osp.isdir(osp.join(repo, 'configs')):
        return osp.join(repo, 'configs')
    raise FileNotFoundError(f'hrvision\'s configs are neither in {installed} (an installed package) nor in '
                            f'{osp.join(repo, "configs")} beside setup.py (a source checkout): the install is broken')


CONFIG_ROOT = _config_root()


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
