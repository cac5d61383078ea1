"""Readers for MNIST-format files: Nielsen's ``mnist.pkl.gz`` and the IDX gzip files."""

from __future__ import annotations

import gzip
import math
import numbers
import os
import struct

import numpy as np

from .._validation import check_scalar
from .safepickle import MAX_BYTES, read_mnist_pickle
from .splits import check_splits

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
N_VALIDATION = 10_000  # Nielsen's split of the 60,000 training images


def load_mnist(path=None):
    """Load MNIST from Nielsen's ``mnist.pkl.gz`` or from a folder of the four IDX files.

    The pickle holds a ``(training, validation, test)`` tuple of ``(X, y)``
    (50,000/10,000/10,000, X float32 in [0, 1]); it was written by Python 2.
    IDX folders are split 50,000/10,000 for training and validation, as
    Nielsen's file is, and scaled to [0, 1].

    A pickle is code: :func:`pickle.load` on a stranger's file can run anything.
    wdecay never calls it here; the file is read by
    :func:`wdecay.datasets.safepickle.read_mnist_pickle`, which admits only
    numpy arrays, dtypes and tuples and refuses any other object before it is
    built.

    Parameters
    ----------
    path : str or path, optional
        The file or folder. If None, ``mnist.pkl.gz`` is looked for where
        :func:`find_mnist` looks (./mnist.pkl.gz, ../data/mnist.pkl.gz,
        ``$WDECAY_DATA``, the download cache).

    Raises
    ------
    FileNotFoundError
        No file there (or nowhere, with ``path=None``); the message says how to get one.
    ValueError
        A file that is not a readable MNIST pickle, naming the file and the part.
    """
    if path is None:
        path = find_mnist()
    path = os.fspath(path)
    if os.path.isdir(path):
        return load_idx_folder(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no MNIST file at {path!r}; get Nielsen's file with "
                                "wdecay.datasets.download_mnist()")
    parts = read_mnist_pickle(path)
    if not isinstance(parts, tuple) or len(parts) != 3 or any(
            not isinstance(p, tuple) or len(p) != 2 for p in parts):
        raise ValueError(f"{path!r} must pickle a (training, validation, test) tuple of (X, y) pairs")
    return check_splits(parts, path)


def data_locations():
    """Where :func:`find_mnist` looks for ``mnist.pkl.gz``, in order."""
    from .download import default_cache_dir

    places = [os.path.join(".", "mnist.pkl.gz"), os.path.join("..", "data", "mnist.pkl.gz")]
    env = os.environ.get("WDECAY_DATA")
    if env:
        is_file = env.endswith((".gz", ".pkl")) or os.path.isfile(env)
        places.append(env if is_file else os.path.join(env, "mnist.pkl.gz"))
    cache = os.path.join(default_cache_dir(), "mnist.pkl.gz")
    if cache not in places:
        places.append(cache)
    return places


MISSING = ("mnist.pkl.gz not found (looked in {places}). Fix: download it with "
           "`python -c 'from wdecay.datasets import download_mnist; download_mnist()'`, or write "
           "the embedded 5,000-digit sample with `write_mnist_pickle(\"mnist_sample.pkl.gz\", "
           "load_mnist_sample())` (from wdecay.datasets) and set WDECAY_DATA=mnist_sample.pkl.gz "
           "(or pass that path).")


def find_mnist():
    """Return the first existing ``mnist.pkl.gz`` among :func:`data_locations`.

    Raises
    ------
    FileNotFoundError
        With the one-line fix, if there is none.
    """
    places = data_locations()
    for place in places:
        if os.path.isfile(place):
            return place
    raise FileNotFoundError(MISSING.format(places=", ".join(places)))


def read_idx(path, max_bytes=MAX_BYTES):
    """Read one gzip IDX file (MNIST's own format) into a uint8 array.

    The header's dimensions are checked before the data are read: against the
    uncompressed size that gzip records in its trailer, and against
    ``max_bytes``. Then exactly the declared number of values is decompressed,
    plus one byte to prove the file holds no more; a small file cannot make
    wdecay decompress gigabytes.

    Raises
    ------
    ValueError
        Naming the file, for a file that is not gzip, not unsigned-byte IDX,
        truncated, longer than its header says, or larger than ``max_bytes``.
    """
    name = repr(os.fspath(path))
    with open(path, "rb") as raw:
        trailer = _gzip_isize(raw)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as fh:
                head = fh.read(4)
                if len(head) < 4 or head[:3] != b"\x00\x00\x08" or head[3] == 0:
                    raise ValueError(f"{name} is not an unsigned-byte IDX file")
                ndim = head[3]
                raw_dims = fh.read(4 * ndim)
                if len(raw_dims) < 4 * ndim:
                    raise ValueError(f"{name} is truncated inside its header")
                dims = struct.unpack(f">{ndim}I", raw_dims)
                count = math.prod(dims)
                total = 4 + 4 * ndim + count
                if trailer is not None and total % 2**32 != trailer:
                    held = trailer - 4 - 4 * ndim
                    what = "is truncated" if held < count else "holds more data than its header says"
                    raise ValueError(f"{name} {what}: the header declares shape {dims} "
                                     f"({count} values), the gzip trailer {held} bytes of data")
                if count > max_bytes or max(dims) > max_bytes:  # (2**32-1, 2**32-1, 0) is empty
                    raise ValueError(f"{name}: the header declares shape {dims} ({count} bytes), "
                                     f"more than max_bytes={max_bytes} in all or in one "
                                     "dimension; the file is corrupt or not MNIST-like (raise "
                                     "max_bytes only for a larger genuine file)")
                data = fh.read(count)
                if len(data) < count:
                    raise ValueError(f"{name} is truncated: header says {dims}, "
                                     f"found {len(data)} values")
                if fh.read(1):
                    raise ValueError(f"{name} holds more data than its header's shape {dims}")
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile, a cut stream
            raise ValueError(f"{name} is not a readable gzip IDX file: {exc}") from None
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _gzip_isize(raw):
    """The uncompressed size (mod 2**32) from a gzip file's trailer, or None if too short."""
    size = os.fstat(raw.fileno()).st_size
    if size < 18:
        return None
    raw.seek(-4, os.SEEK_END)
    (isize,) = struct.unpack("<I", raw.read(4))
    raw.seek(0)
    return isize


def load_idx_folder(folder, n_validation=N_VALIDATION):
    """Load the four IDX files in ``folder``; the last ``n_validation`` training images validate.

    Raises
    ------
    ValueError
        If ``n_validation`` is negative or leaves no training images, or the
        files disagree (labels per image, image sizes between training and test).
    """
    if not isinstance(n_validation, numbers.Integral):
        raise TypeError(f"`n_validation` must be an integer, got {n_validation!r}")
    check_scalar(int(n_validation), "n_validation", low=0)
    folder = os.fspath(folder)
    arrays = {}
    for key, name in IDX_FILES.items():
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{folder!r} lacks {name}; expected the four files "
                                    f"{', '.join(IDX_FILES.values())}")
        arrays[key] = read_idx(path)
    images, test_images = arrays["train_images"], arrays["test_images"]
    if images.ndim < 2 or test_images.ndim < 2:
        raise ValueError(f"{folder!r}: image files must hold (n, rows, cols) arrays, got shapes "
                         f"{images.shape} and {test_images.shape}")
    n = len(images)
    if n_validation >= n:
        raise ValueError(f"`n_validation` must be < the {n} training images in {folder!r}, "
                         f"got {n_validation}; pass a smaller n_validation")
    X = images.reshape(n, -1) / 255.0
    y = arrays["train_labels"]
    X_test = test_images.reshape(len(test_images), -1) / 255.0
    if len(y) != n:
        raise ValueError(f"{folder!r}: {IDX_FILES['train_labels']} holds {len(y)} labels for "
                         f"{n} images")
    cut = n - n_validation
    return check_splits(((X[:cut], y[:cut]), (X[cut:], y[cut:]), (X_test, arrays["test_labels"])),
                        folder)


FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: name -> (upstream MD5 of the .gz, SHA-256 of Debian's .gz, SHA-256 of its decompressed bytes).
#: The MD5s are quoted from upstream's README (shipped by Debian as
#: /usr/share/doc/dataset-fashion-mnist/README.md.gz); the SHA-256s were computed
#: from the files of Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1.
#: Debian's .gz files are not byte-identical to upstream's (their MD5s differ).
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte.gz": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte.gz": (
        "bef4ecab320f06d8554ea6380940ec79",
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte.gz": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}


def load_fashion_mnist(path=None, n_validation=N_VALIDATION):
    """Load Fashion-MNIST's four IDX files, by default from Debian's ``dataset-fashion-mnist``.

    Same shapes and split as :func:`load_idx_folder`: 50,000 training,
    10,000 validation and 10,000 test images of 784 pixels in [0, 1].

    Where to get the files:

    - Debian or Ubuntu: ``apt-get install dataset-fashion-mnist``; the files land
      in ``/usr/share/datasets/fashion-mnist`` and ``path`` can stay None.
    - Elsewhere: download the four files named in ``FASHION_MNIST_FILES``
      from upstream's links, ``FASHION_MNIST_URL + name`` (the address in the
      upstream README, https://github.com/zalandoresearch/fashion-mnist), into
      one folder and pass it as ``path``.

    Their checksums (``FASHION_MNIST_FILES``): the MD5 of each upstream ``.gz`` as
    printed in upstream's README, and the SHA-256 of Debian's ``.gz`` and of its
    decompressed content, computed from Debian's package. Check a download with
    ``md5sum`` against the first. wdecay did not download upstream's files, so
    it has not verified that their decompressed content matches Debian's.
    """
    folder = FASHION_MNIST_DIR if path is None else os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"no Fashion-MNIST at {folder!r}. On Debian or Ubuntu install it with "
            "'apt-get install dataset-fashion-mnist' (files land in "
            f"{FASHION_MNIST_DIR}); elsewhere download the four files from "
            f"{FASHION_MNIST_URL} (see help(wdecay.datasets.load_fashion_mnist) for their "
            "checksums) and pass their folder")
    return load_idx_folder(folder, n_validation=n_validation)
