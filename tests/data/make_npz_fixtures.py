#!/usr/bin/python3
"""Write the NumPy-made model files that tests/test_io.c loads.

Run with a Python that has NumPy (on Debian, /usr/bin/python3 with the
python3-numpy package):

    /usr/bin/python3 tests/data/make_npz_fixtures.py

Every model has D = 5 visible and K = 3 hidden units, with parameters
computed in float64 and rounded to float32 where stored as float32:

    W[i, k]         = (i * 3 + k) * 0.1 - 0.7
    visible_bias[i] = i / 3.0 - 0.5
    hidden_bias[k]  = -0.1 * (k + 1)

test_io.c computes the same expressions in double and rounds them to
float, so the expected values agree bit for bit. Every zip entry is dated
1980-01-01 (what zipfile writes for numpy.savez in Python 3.11), so a rerun
with the same NumPy and zlib writes identical files.
"""

import io
import os
import struct
import zipfile
import zlib

import numpy as np

D, K = 5, 3
HERE = os.path.dirname(os.path.abspath(__file__))
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def parameters(dtype):
    """Return W, visible_bias and hidden_bias as arrays of dtype."""
    weights = np.array([[(i * 3 + k) * 0.1 - 0.7 for k in range(K)]
                        for i in range(D)])
    visible = np.array([i / 3.0 - 0.5 for i in range(D)])
    hidden = np.array([-0.1 * (k + 1) for k in range(K)])
    return (weights.astype(dtype), visible.astype(dtype),
            hidden.astype(dtype))


def npy_bytes(array, version=None):
    """Return the .npy serialisation of array in the given format version."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def write_entries(name, entries):
    """Write a stored zip of (entry name, bytes) pairs, as numpy.savez
    would, but with full control over each entry's bytes."""
    with zipfile.ZipFile(os.path.join(HERE, name), "w") as archive:
        for entry, data in entries:
            info = zipfile.ZipInfo(entry, date_time=ZIP_EPOCH)
            archive.writestr(info, data)


def write_zip64(name, entries, comment):
    """Write a stored zip that uses every zip64 record.

    Each local and central directory header marks its sizes (and offset)
    0xffffffff and gives them in a zip64 extra field. A zip64 end record
    and its locator precede the end record, whose counts and offsets are
    all marked. zipfile writes these only for archives over 4 GiB.
    """
    out = io.BytesIO()
    central = []

    for entry, data in entries:
        offset = out.tell()
        crc = zlib.crc32(data)
        encoded = entry.encode("ascii")
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21,
                              crc, 0xFFFFFFFF, 0xFFFFFFFF, len(encoded),
                              len(extra)))
        out.write(encoded + extra + data)
        central.append((encoded, crc, len(data), offset))

    directory_offset = out.tell()
    for encoded, crc, size, offset in central:
        extra = struct.pack("<HHQQQ", 1, 24, size, size, offset)
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x032D, 45,
                              0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(encoded), len(extra), 0, 0, 0,
                              0o100644 << 16, 0xFFFFFFFF))
        out.write(encoded + extra)
    directory_size = out.tell() - directory_offset

    record_offset = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x032D, 45, 0, 0,
                          len(central), len(central), directory_size,
                          directory_offset))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF,
                          0xFFFFFFFF, 0xFFFFFFFF, len(comment)))
    out.write(comment)
    with open(os.path.join(HERE, name), "wb") as file:
        file.write(out.getvalue())


def main():
    w32, a32, b32 = parameters(np.float32)
    w64, a64, b64 = parameters(np.float64)

    def path(name):
        return os.path.join(HERE, name)

    np.savez(path("model_savez.npz"), format_version=np.int32(1),
             W=w32, visible_bias=a32, hidden_bias=b32)
    np.savez_compressed(path("model_savez_compressed.npz"),
                        format_version=1, W=w32, visible_bias=a32,
                        hidden_bias=b32)
    np.savez(path("model_float64.npz"), format_version=np.uint8(1),
             W=w64, visible_bias=a64, hidden_bias=b64)
    fortran = np.asfortranarray(w32)
    assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
    np.savez(path("model_fortran.npz"), format_version=np.int64(1),
             W=fortran, visible_bias=a32, hidden_bias=b32)
    np.savez(path("model_big_endian.npz"),
             format_version=np.array(1, dtype=">i4"),
             W=w32.astype(">f4"), visible_bias=a64.astype(">f8"),
             hidden_bias=b32.astype(">f4"))
    np.savez(path("model_no_version.npz"), W=w32, visible_bias=a32,
             hidden_bias=b32)
    np.savez(path("model_extra_arrays.npz"), format_version=1, W=w32,
             visible_bias=a32, hidden_bias=b32,
             velocity=np.zeros((D, K), dtype=np.float32))

    np.savez(path("model_version2.npz"), format_version=np.int32(2),
             W=w32, visible_bias=a32, hidden_bias=b32)
    np.savez(path("model_missing_hidden.npz"), format_version=1, W=w32,
             visible_bias=a32)
    np.savez(path("model_shape_mismatch.npz"), format_version=1, W=w32,
             visible_bias=a32[:4], hidden_bias=b32)
    with_nan = w32.copy()
    with_nan[2, 1] = np.nan
    np.savez(path("model_nan.npz"), format_version=1, W=with_nan,
             visible_bias=a32, hidden_bias=b32)
    overflow = w64.copy()
    overflow[4, 2] = 1e300
    np.savez(path("model_float64_overflow.npz"), format_version=1,
             W=overflow, visible_bias=a64, hidden_bias=b64)
    np.savez(path("model_int_weights.npz"), format_version=1,
             W=np.ones((D, K), dtype=np.int32), visible_bias=a32,
             hidden_bias=b32)
    np.savez(path("model_float16_weights.npz"), format_version=1,
             W=w32.astype(np.float16), visible_bias=a32, hidden_bias=b32)
    np.savez(path("model_bool_version.npz"), format_version=np.bool_(True),
             W=w32, visible_bias=a32, hidden_bias=b32)

    # The .npy headers of format versions 2.0 and 3.0 have 4-byte lengths.
    write_entries("model_npy_versions.npz", [
        ("format_version.npy", npy_bytes(np.int32(1), (1, 0))),
        ("W.npy", npy_bytes(w32, (2, 0))),
        ("visible_bias.npy", npy_bytes(a32, (3, 0))),
        ("hidden_bias.npy", npy_bytes(b32, (1, 0))),
    ])

    write_zip64("model_zip64.npz", [
        ("format_version.npy", npy_bytes(np.int32(1))),
        ("W.npy", npy_bytes(w32)),
        ("visible_bias.npy", npy_bytes(a32)),
        ("hidden_bias.npy", npy_bytes(b32)),
    ], b"zip64 records and a comment")
    with np.load(path("model_zip64.npz")) as check:
        assert np.array_equal(check["W"], w32)

    # A W.npy whose header declares 2^40 x 3 elements followed by 12 bytes:
    # the loader must reject it from the header, before allocating.
    header = b"{'descr': '<f4', 'fortran_order': False, " \
             b"'shape': (1099511627776, 3), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    absurd = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
    absurd += header + bytes(12)
    write_entries("model_absurd_shape.npz", [
        ("format_version.npy", npy_bytes(np.int32(1))),
        ("W.npy", absurd),
        ("visible_bias.npy", npy_bytes(a32)),
        ("hidden_bias.npy", npy_bytes(b32)),
    ])


if __name__ == "__main__":
    main()
