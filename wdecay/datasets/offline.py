"""Full MNIST where a user may already have it, without the network.

:func:`find_offline_mnist` looks, in order, for

- Keras's cache, ``$KERAS_HOME/datasets/mnist.npz`` or ``~/.keras/datasets/mnist.npz``
  (``keras.datasets.mnist.load_data()`` puts it there);
- torchvision's raw folders, ``<root>/MNIST/raw`` for the roots ``./data``,
  ``../data``, ``~/data``, ``~/.cache`` and ``~/.cache/torchvision``
  (``torchvision.datasets.MNIST(root, download=True)``), and the four IDX
  files (gzip or not) in wdecay's documented folders: ``.``, ``../data``,
  ``$WDECAY_DATA`` and the download cache;
- scikit-learn's OpenML cache, ``$SCIKIT_LEARN_DATA`` or ``~/scikit_learn_data``
  (``fetch_openml("mnist_784")``), read by scikit-learn itself without download.

Every find is checked before use: 60,000 training and 10,000 test images of
28 x 28 pixels, labels 0-9. Checksums, where a public one exists:

- Keras's ``mnist.npz``: SHA-256 :data:`KERAS_MNIST_SHA256`, the ``file_hash``
  that Keras passes to ``get_file`` in ``keras/src/datasets/mnist.py``
  (keras-team/keras);
- the four ``.gz`` IDX files: MD5 :data:`MNIST_GZ_MD5`, as listed in
  ``torchvision.datasets.MNIST.resources`` (pytorch/vision).

Decompressed IDX files (torchvision keeps both forms) and scikit-learn's cache
have no published checksum here: their structure alone is checked, and the
data set's name says "unverified" (scikit-learn checks OpenML's MD5 when it
downloads). Like Nielsen's file, training images are split 50,000/10,000 into
training and validation.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile

import numpy as np

from .files import IDX_FILES, N_VALIDATION, read_idx
from .splits import DataSplits

KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
SHAPES = {"train_images": (60_000, 28, 28), "train_labels": (60_000,),
          "test_images": (10_000, 28, 28), "test_labels": (10_000,)}
#: The one command that gets MNIST when none is found (it needs the network).
GET_MNIST = "python -c 'from wdecay.datasets import download_mnist; download_mnist()'"


def _home(*parts):
    return os.path.join(os.path.expanduser("~"), *parts)


def keras_places():
    """Where Keras caches ``mnist.npz``."""
    places = []
    if os.environ.get("KERAS_HOME"):
        places.append(os.path.join(os.environ["KERAS_HOME"], "datasets", "mnist.npz"))
    places.append(_home(".keras", "datasets", "mnist.npz"))
    return places


def idx_folders():
    """Folders that may hold MNIST's four IDX files: torchvision's raw folders, then wdecay's."""
    from .download import default_cache_dir

    roots = [os.path.join(".", "data"), os.path.join("..", "data"), _home("data"), _home(".cache"),
             _home(".cache", "torchvision")]
    folders = [os.path.join(r, "MNIST", "raw") for r in roots]
    folders += [".", os.path.join("..", "data")]
    env = os.environ.get("WDECAY_DATA")
    if env:
        folders.append(env if os.path.isdir(env) else os.path.dirname(env) or ".")
    folders.append(default_cache_dir())
    return list(dict.fromkeys(folders))


def sklearn_home():
    """scikit-learn's data folder (``$SCIKIT_LEARN_DATA`` or ``~/scikit_learn_data``)."""
    return os.environ.get("SCIKIT_LEARN_DATA") or _home("scikit_learn_data")


def places():
    """Every place :func:`find_offline_mnist` looks, in order, as text."""
    return (keras_places() + [os.path.join(f, "{train,t10k}-*-idx*-ubyte[.gz]") for f in
                              idx_folders()]
            + [os.path.join(sklearn_home(), "openml")])


def _digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_shapes(arrays, source):
    for key, shape in SHAPES.items():
        a = arrays[key]
        if a.shape != shape:
            raise ValueError(f"{source}: {key} has shape {a.shape}, full MNIST's is {shape}")
        if key.endswith("labels") and (a.min() < 0 or a.max() > 9):
            raise ValueError(f"{source}: {key} must be digits 0-9, got {a.min()}..{a.max()}")


def _pixels(images):
    """uint8 images as float64 rows in [0, 1] (finite by construction)."""
    X = images.reshape(len(images), -1).astype(np.float64)
    X *= 1 / 255.0
    return X


def _splits(arrays, source):
    _check_shapes(arrays, source)
    for key in SHAPES:
        if arrays[key].dtype != np.uint8:
            raise ValueError(f"{source}: {key} must be uint8 as in MNIST, got {arrays[key].dtype}")
    X, y = _pixels(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
    cut = 60_000 - N_VALIDATION
    return DataSplits((X[:cut], y[:cut]), (X[cut:], y[cut:]),
                      (_pixels(arrays["test_images"]), arrays["test_labels"].astype(np.int64)))


def load_keras_npz(path):
    """Load Keras's ``mnist.npz`` (no pickles); return ``(DataSplits, checksum verified?)``."""
    names = {"train_images": "x_train", "train_labels": "y_train", "test_images": "x_test",
             "test_labels": "y_test"}
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[v] for k, v in names.items()}
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not Keras's mnist.npz ({type(exc).__name__}: {exc})") from None
    verified = _digest(path, "sha256") == KERAS_MNIST_SHA256
    return _splits(arrays, path), verified


def _read_raw_idx(path):
    """An uncompressed IDX file of unsigned bytes, its size checked against its header."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
        if len(head) < 4 or head[:3] != b"\x00\x00\x08" or head[3] == 0:
            raise ValueError(f"{path}: not an unsigned-byte IDX file")
        dims = struct.unpack(f">{head[3]}I", fh.read(4 * head[3]))
        count = int(np.prod(dims))
        if size != 4 + 4 * len(dims) + count:
            raise ValueError(f"{path}: {size} bytes, but its header declares shape {dims}")
        return np.frombuffer(fh.read(count), dtype=np.uint8).reshape(dims)


def _idx_set(folder):
    """``{key: path}`` of a complete set of the four IDX files in ``folder``, gzip first."""
    for suffix in (".gz", ""):
        found = {k: os.path.join(folder, name[:-3] + suffix) for k, name in IDX_FILES.items()}
        if all(os.path.isfile(p) for p in found.values()):
            return found
    return None


def load_idx_set(files):
    """Load the four IDX files ``{key: path}``; return ``(DataSplits, checksums verified?)``."""
    arrays, verified = {}, True
    for key, path in files.items():
        if path.endswith(".gz"):
            arrays[key] = read_idx(path)
            verified &= _digest(path, "md5") == MNIST_GZ_MD5[IDX_FILES[key]]
        else:
            arrays[key] = _read_raw_idx(path)
            verified = False
    return _splits(arrays, os.path.dirname(files["train_images"]) or "."), verified


def load_sklearn_cache(data_home):
    """MNIST from scikit-learn's OpenML cache, without download (``mnist_784``, version 1)."""
    from sklearn.datasets import fetch_openml

    bunch = fetch_openml("mnist_784", version=1, data_home=data_home, as_frame=False,
                         parser="liac-arff", download_if_missing=False)
    images = np.asarray(bunch.data)
    if images.shape != (70_000, 784) or not np.all((images >= 0) & (images <= 255)):
        raise ValueError(f"{data_home}: mnist_784 must be 70,000 rows of 784 pixels 0-255, "
                         f"got shape {images.shape}")
    images = images.astype(np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(bunch.target).astype(np.int64).astype(np.uint8)
    arrays = {"train_images": images[:60_000], "train_labels": labels[:60_000],
              "test_images": images[60_000:], "test_labels": labels[60_000:]}
    return _splits({k: np.asarray(v) for k, v in arrays.items()}, data_home)


def find_offline_mnist():
    """Full MNIST from a cache on this machine: ``(DataSplits, description)``.

    The description names the data set and where it came from, and whether
    its checksum matched the published one ("checksum verified") or no
    checksum could be checked ("unverified, structure checked").

    Raises
    ------
    FileNotFoundError
        In one line: every place looked in and the one command that gets MNIST.
    ValueError
        A file that was found but is not full MNIST (naming the file).
    """
    def described(where, verified):
        check = "checksum verified" if verified else "checksum unverified, structure checked"
        return f"MNIST, 60,000 + 10,000 digits from {where} ({check})"

    for path in keras_places():
        if os.path.isfile(path):
            splits, ok = load_keras_npz(path)
            return splits, described(f"Keras's cache {path}", ok)
    for folder in idx_folders():
        files = _idx_set(folder)
        if files:
            splits, ok = load_idx_set(files)
            return splits, described(f"the IDX files in {folder}", ok)
    home = sklearn_home()
    if os.path.isdir(os.path.join(home, "openml")):
        try:
            splits = load_sklearn_cache(home)
        except ImportError:
            pass  # no scikit-learn to read its own cache
        except (OSError, ValueError):
            pass  # something else is cached there, not mnist_784
        else:
            return splits, described(f"scikit-learn's OpenML cache {home}", False)
    raise FileNotFoundError(f"no MNIST on this machine (looked in {', '.join(places())}); get "
                            f"it with: {GET_MNIST}")
