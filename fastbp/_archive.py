"""Model files' archives: an ``.npz`` of plain numeric arrays, read without pickle.

``write`` builds the whole archive in memory (deflate-compressed ``.npy``
members) and puts it at its path whole (``_files.replace_file``). ``Archive``
reads one from untrusted bytes: the file's first bytes must be a zip's, every
member a ``.npy`` array, each member's size is checked before it is decompressed,
and numpy reads the arrays with ``allow_pickle=False``, so nothing in a file
can run code. What the readers raise on damaged or foreign bytes is a
``FileError`` that says so; nothing else is caught.
"""

import io
import struct
import zipfile
import zlib

import numpy as np

from ._codec import FileError, fail
from ._files import replace_file

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip
NPY_MAGIC = b"\x93NUMPY"
NPY_HEADER_ROOM = 1 << 16  # an .npy member's header, beyond its data

# What zipfile's, zlib's and numpy's readers raise on bytes that are not what they
# expect: caught around their calls only.
_READER_ERRORS = (
    OSError,
    EOFError,
    ValueError,  # numpy's .npy parser; with allow_pickle=False, object arrays
    KeyError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    NotImplementedError,  # a zip member with an unsupported compression method
    RuntimeError,  # an encrypted zip member
    OverflowError,
    TypeError,
)


def write(path, arrays):
    """Write ``arrays`` (name -> array) as a compressed .npz archive at ``path``, whole."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    replace_file(path, lambda f: f.write(buffer.getbuffer()))


class Archive:
    """An open archive: ``names`` (its members, without ".npy"), ``read(name, max_bytes)``.

    Use as ``with Archive(f) as archive:`` on a binary file opened for reading.
    """

    def __init__(self, f):
        head = f.read(len(NPY_MAGIC))
        f.seek(0)
        if not head:
            fail("the file is empty: not a fastbp model file.")
        if head == NPY_MAGIC:
            fail("not a fastbp model file: it is a single .npy array.")
        if not head.startswith(ZIP_MAGIC):
            fail("not a fastbp model file: it is not an .npz (zip) archive.")
        try:
            self.npz = np.load(f, allow_pickle=False)
        except _READER_ERRORS as exc:
            raise FileError(
                "not a fastbp model file: it cannot be read as an .npz archive, it may"
                f" be truncated or damaged ({exc})."
            ) from exc
        if not isinstance(self.npz, np.lib.npyio.NpzFile):  # pragma: no cover - checked above
            fail("not a fastbp model file: it is a single .npy array.")
        members = self.npz.zip.namelist()
        if len(set(members)) != len(members):
            fail("the archive has repeated member names.")
        odd = [n for n in members if not n.endswith(".npy")]
        if odd:
            fail(f"the archive has members that are not .npy arrays: {odd[:5]}.")
        self.names = {n[: -len(".npy")] for n in members}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.npz.close()

    def read(self, name, max_bytes):
        """Member ``name`` as an array, if it is at most ``max_bytes`` uncompressed."""
        size = self.npz.zip.getinfo(name + ".npy").file_size
        if size > max_bytes:
            fail(f"array {name!r} is {size} bytes uncompressed; at most {max_bytes} expected.")
        try:
            return self.npz[name]
        except _READER_ERRORS as exc:
            raise FileError(
                f"array {name!r} cannot be read safely (damaged, or pickled objects): {exc}"
            ) from exc
