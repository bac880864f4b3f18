"""MATLAB ``.mat`` files, read and written in one place: scipy.io for MATLAB v4 to v7.2, h5py for v7.3 (HDF5, the
optional ``cofw`` extra), chosen by the file's header. Readers of official ground truths (COFW images and
landmarks, MPII's head boxes) and writers of results (MPII's ``pred.mat``) call these, so every task refuses a bad
file the same way: one line naming the file."""
from __future__ import annotations

import os
import os.path as osp

import numpy as np

from hrvision.atomic import atomic_path, writing
from hrvision.errors import DataError, MissingFileError

HDF5_SIGNATURE = b'\x89HDF\r\n\x1a\n'


def is_mat73(path: str) -> bool:
    """A MATLAB v7.3 file: HDF5 (its signature at offset 0 or after MATLAB's 512-byte user block)."""
    with open(path, 'rb') as f:
        head = f.read(520)
    return head[:10] == b'MATLAB 7.3' or head[:8] == HDF5_SIGNATURE or head[512:520] == HDF5_SIGNATURE


def _h5_value(f, ds) -> np.ndarray:
    """One variable of a v7.3 file in MATLAB's order (HDF5 stores the transpose); cell arrays (object references)
    become object arrays of their (transposed) contents."""
    import h5py
    if h5py.check_dtype(ref=ds.dtype) is not None:
        refs = np.asarray(ds[()]).T
        out = np.empty(refs.shape, dtype=object)
        for idx in np.ndindex(refs.shape):
            out[idx] = np.asarray(f[refs[idx]][()]).T
        return out
    return np.asarray(ds[()]).T


def _read_mat73(path: str) -> dict:
    try:
        import h5py
    except ImportError:
        raise DataError(f'{path}: a MATLAB v7.3 (HDF5) file, which needs h5py (pip install h5py); or re-save it as '
                        f'v7 (MATLAB/Octave: load it, then save(\'-v7\', ...)) for scipy.io, or use the CSV '
                        f'form') from None
    try:
        with h5py.File(path, 'r') as f:
            return {k: _h5_value(f, f[k]) for k in f.keys() if isinstance(f[k], h5py.Dataset)}
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f'{path}: a MATLAB v7.3 (HDF5) file h5py cannot read '
                        f'({str(e).splitlines()[0][:200]})') from None


def read_mat(path: str, what: str = 'MATLAB .mat file', *, v73: bool = True) -> dict:
    """The variables of ``path`` (``what`` names it in the errors). ``v73=False``: a v7.3 file is refused in one
    line (a reader whose fields were only checked in scipy's layout)."""
    import scipy.io
    if not osp.isfile(path):
        raise MissingFileError(f'{what} not found: {path}')
    if is_mat73(path):
        if not v73:
            raise DataError(f'{path}: a MATLAB v7.3 (HDF5) file; the {what} is read as MATLAB v4 to v7.2 '
                            f'(the official files are): re-save it with save(\'-v7\', ...)')
        return _read_mat73(path)
    try:
        return scipy.io.loadmat(path)
    except Exception as e:  # noqa: BLE001 -- scipy raises ValueError/TypeError/OSError/... on a file that is no .mat
        raise DataError(f'{path}: not a MATLAB .mat file scipy.io can read ({type(e).__name__}: '
                        f'{str(e).splitlines()[0][:200] if str(e) else ""})') from None


MAT73_HEADER = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: hrvision, HDF5 schema 1.00 .'


def _write_mat73(tmp: str, variables: dict) -> None:
    """MATLAB v7.3 (HDF5 with a 512-byte user block holding MATLAB's 128-byte header): numeric arrays transposed
    (MATLAB is column-major), cell arrays (object arrays) as references to datasets under ``#refs#``."""
    try:
        import h5py
    except ImportError:
        raise ValueError('a MATLAB v7.3 file needs h5py (pip install h5py)') from None
    with h5py.File(tmp, 'w', userblock_size=512) as f:
        refs = f.create_group('#refs#')
        for name, value in variables.items():
            value = np.asarray(value)
            if value.dtype == object:
                ref = np.empty(value.T.shape, dtype=h5py.ref_dtype)
                for idx in np.ndindex(value.shape):
                    item = np.asarray(value[idx])
                    ds = refs.create_dataset(f'{name}_{len(refs)}', data=item.T)
                    ds.attrs['MATLAB_class'] = np.bytes_('uint8' if item.dtype == np.uint8 else 'double')
                    ref[idx[::-1]] = ds.ref
                ds = f.create_dataset(name, data=ref)
                ds.attrs['MATLAB_class'] = np.bytes_('cell')
            else:
                ds = f.create_dataset(name, data=value.T)
                ds.attrs['MATLAB_class'] = np.bytes_('double')
    with open(tmp, 'r+b') as fh:   # MATLAB's header: text, subsystem offset, version 0x0200, endian 'IM'
        fh.write(MAT73_HEADER.ljust(116, b' ') + b'\0' * 8 + b'\x00\x02' + b'IM')


def write_mat(path: str, variables: dict, what: str = 'MATLAB .mat file', version: str = '5',
              compress: bool = False) -> str:
    """``variables`` -> ``path``, complete or not at all: MATLAB v5 through scipy.io (``compress``: zlib), or
    ``version='7.3'`` (HDF5, h5py; the synthetic COFW files of that layout)."""
    from scipy.io import savemat
    if version not in ('5', '7.3'):
        raise ValueError(f'MATLAB file version must be 5 or 7.3, got {version!r}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp, writing(path, what):
        if version == '7.3':
            _write_mat73(tmp, variables)
        else:
            with open(tmp, 'wb') as f:   # a file object: savemat would append '.mat' to the temporary name
                savemat(f, variables, format='5', do_compression=compress)
    return path


__all__ = ['HDF5_SIGNATURE', 'is_mat73', 'read_mat', 'write_mat']
