"""mmengine glue: data preprocessor, safe checkpoints, CPU bf16, runner construction."""
from . import optim, preprocessor  # noqa: F401  (registration)
from .checkpoint import install_checkpoint_fixes, trust_directory
from .preprocessor import HRVDataPreprocessor

__all__ = ['HRVDataPreprocessor', 'install_checkpoint_fixes', 'trust_directory']
