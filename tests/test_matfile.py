"""One reader/writer of MATLAB files for every task (COFW, MPII): v5 and v7.3 round trips, refusals in one line."""
import numpy as np
import pytest

from hrvision.data.matfile import is_mat73, read_mat, write_mat
from hrvision.errors import DataError, MissingFileError


def test_v5_and_v73_round_trip_to_the_same_variables(tmp_path):
    pytest.importorskip('h5py')
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = np.arange(6, dtype=np.uint8).reshape(2, 3), np.ones((1, 4), np.uint8)
    data = {'a': np.arange(12.0).reshape(3, 4), 'cells': cells}
    for version in ('5', '7.3'):
        path = str(tmp_path / f'v{version}.mat')
        write_mat(path, data, version=version)
        assert is_mat73(path) == (version == '7.3')
        got = read_mat(path)
        np.testing.assert_array_equal(got['a'], data['a'])
        for k in range(2):
            np.testing.assert_array_equal(np.asarray(got['cells'][0, k]), cells[0, k])


def test_refusals_name_the_file(tmp_path):
    with pytest.raises(MissingFileError, match='MPII ground truth not found: .*absent.mat'):
        read_mat(str(tmp_path / 'absent.mat'), 'MPII ground truth')
    bad = tmp_path / 'bad.mat'
    bad.write_bytes(b'not a mat file at all' * 10)
    with pytest.raises(DataError, match=r'bad\.mat: not a MATLAB \.mat file scipy\.io can read'):
        read_mat(str(bad))
    pytest.importorskip('h5py')
    path = str(tmp_path / 'gt.mat')
    write_mat(path, {'a': np.zeros((2, 2))}, version='7.3')
    with pytest.raises(DataError, match=r"gt\.mat: a MATLAB v7\.3 \(HDF5\) file; the MPII ground truth is read as "
                                        r"MATLAB v4 to v7\.2"):
        read_mat(path, 'MPII ground truth', v73=False)
    assert not list(tmp_path.glob('*.tmp*'))   # complete or not at all
