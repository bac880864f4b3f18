"""Tasks: one folder each (dataset, transforms, model, metric, synthetic data, CLI).

Importing the package imports every task folder, which registers its classes.
"""
import importlib
import pkgutil

for _m in pkgutil.iter_modules(__path__):
    if _m.ispkg:
        importlib.import_module(f'{__name__}.{_m.name}')
