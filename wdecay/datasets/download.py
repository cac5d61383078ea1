"""Download Nielsen's ``mnist.pkl.gz`` into a local cache.

The default address is the file in the public repository of Nielsen's book
code (``data/mnist.pkl.gz``; referenced as such by third-party projects). No
SHA-256 of that file could be verified from here, so none is built in: the
download is checked by structure (it must unpickle to 50,000/10,000/10,000
images of 784 pixels) and its digest is returned, and callers who know the
digest pass ``sha256=`` to have it enforced.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request

from .._files import atomic_write
from .files import load_mnist

MNIST_URL = ("https://github.com/mnielsen/neural-networks-and-deep-learning/"
             "raw/master/data/mnist.pkl.gz")
EXPECTED_SIZES = (50_000, 10_000, 10_000)


def default_cache_dir():
    """``$WDECAY_DATA`` or ``~/.cache/wdecay``."""
    return os.environ.get("WDECAY_DATA") or os.path.join(os.path.expanduser("~"), ".cache", "wdecay")


def download_mnist(cache_dir=None, *, url=MNIST_URL, sha256=None, expected_sizes=EXPECTED_SIZES,
                   timeout=60.0, force=False):
    """Fetch ``mnist.pkl.gz`` into ``cache_dir`` and return ``(path, sha256_hex)``.

    A cached file is reused unless ``force``. The bytes are written atomically
    only after they pass the checks: the SHA-256 if ``sha256`` is given, and the
    structure (three splits of ``expected_sizes`` rows, 784 columns).

    Raises
    ------
    ValueError
        On a digest mismatch or a file that is not MNIST-shaped; nothing is written.
    """
    cache_dir = default_cache_dir() if cache_dir is None else os.fspath(cache_dir)
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, "mnist.pkl.gz")
    if os.path.exists(path) and not force:
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        _check_digest(digest, sha256, path)
        return path, digest
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    _check_digest(digest, sha256, url)
    partial = path + ".part"
    atomic_write(partial, data)
    try:
        splits = load_mnist(partial)
        sizes = tuple(len(X) for X, _ in splits)
        if expected_sizes is not None and sizes != tuple(expected_sizes):
            raise ValueError(f"{url} gave splits of {sizes} rows, expected {tuple(expected_sizes)}")
        if any(X.shape[1] != 784 for X, _ in splits):
            raise ValueError(f"{url} gave images that are not 784 pixels")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return path, digest


def _check_digest(digest, expected, source):
    if expected is not None and digest != expected.lower():
        raise ValueError(f"SHA-256 mismatch for {source}: expected {expected}, got {digest}")
