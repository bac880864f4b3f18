"""Task heads (layers + loss): one file per head. Importing the package registers them all, except the heads in
``LAZY``, registered when a config first names them (their imports cost seconds: torchvision's detection models)."""
import importlib
import pkgutil

from hrvision.registry import MODELS, register_lazy

LAZY = {'detection': ('DetectionHead',)}   # module -> the names it registers

for _m in pkgutil.iter_modules(__path__):
    if _m.name in LAZY:
        for _name in LAZY[_m.name]:
            register_lazy(MODELS, _name, f'{__name__}.{_m.name}')
    else:
        importlib.import_module(f'{__name__}.{_m.name}')
