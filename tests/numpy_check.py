#!/usr/bin/python3
"""Check that numpy.load reads the model files that ebm_rbm_save writes.

Usage: numpy_check.py SAVE_MODEL

SAVE_MODEL is the tests/save_model.c program, which writes a model with
known parameters (see that file). This script loads it with NumPy and
checks the entry names, dtypes, shapes, exact values, CRC-32 of every
entry, and the 64-byte alignment of the array data. It exits 77, which
meson reports as a skipped test, when NumPy is not installed.
"""

import os
import subprocess
import sys
import tempfile
import zipfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed; skipping (install python3-numpy)")
    sys.exit(77)

D, K = 4, 3


def expected_parameters():
    """Return W, visible_bias and hidden_bias as save_model.c sets them."""
    weights = np.array([[(i * K + k) / 8.0 - 0.75 for k in range(K)]
                        for i in range(D)], dtype=np.float32)
    visible = np.array([0.1 * (i + 1) for i in range(D)], dtype=np.float32)
    hidden = np.array([-1.0 / (k + 3) for k in range(K)], dtype=np.float32)
    return weights, visible, hidden


def check_archive(path):
    """Check the zip structure and the .npy headers of each entry."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        assert names == ["W.npy", "format_version.npy", "hidden_bias.npy",
                         "visible_bias.npy"], names
        bad = archive.testzip()
        assert bad is None, f"CRC-32 mismatch in {bad}"
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, info
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                assert version == (1, 0), (info.filename, version)
                np.lib.format.read_array_header_1_0(member)
                offset = member.tell()
                assert offset % 64 == 0, (info.filename, offset)


def check_values(path):
    """Check dtypes, shapes and values as numpy.load returns them."""
    weights, visible, hidden = expected_parameters()
    with np.load(path, allow_pickle=False) as model:
        version = model["format_version"]
        assert version.dtype == np.int32, version.dtype
        assert version.shape == (), version.shape
        assert int(version) == 1, version
        for name, expected in (("W", weights), ("visible_bias", visible),
                               ("hidden_bias", hidden)):
            array = model[name]
            assert array.dtype == np.float32, (name, array.dtype)
            assert array.shape == expected.shape, (name, array.shape)
            assert array.flags.c_contiguous, name
            assert np.array_equal(array, expected), (name, array, expected)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ebm-numpy-check-") as tmp:
        path = os.path.join(tmp, "model.npz")
        subprocess.run([sys.argv[1], path], check=True)
        check_archive(path)
        check_values(path)
        leftovers = sorted(os.listdir(tmp))
        assert leftovers == ["model.npz"], leftovers
    print("numpy.load reads the libebm model file as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
