"""mmengine glue: data preprocessor, safe checkpoints, CPU bf16, runner construction."""
from . import hooks, optim, preprocessor, tensorboard  # noqa: F401  (registration)
from .checkpoint import install_checkpoint_fixes
from .preprocessor import HRVDataPreprocessor

__all__ = ['HRVDataPreprocessor', 'install_checkpoint_fixes']
