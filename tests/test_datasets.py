"""Loaders: embedded sample, mnist.pkl.gz, IDX files, Fashion-MNIST, download, converters."""

import gzip
import hashlib
import http.server
import pickle
import struct
import threading

import numpy as np
import pytest

from wdecay import datasets
from wdecay.datasets.sample import SAMPLE_SHA256


def test_sample_splits_are_stratified_deterministic_and_scaled():
    a, b = datasets.load_mnist_sample(), datasets.load_mnist_sample()
    sizes = [len(X) for X, _ in a]
    assert sizes == [4000, 500, 500]
    for (X, y), (X2, y2) in zip(a, b):
        assert X.dtype == np.float64 and X.shape[1] == 784
        assert 0.0 <= X.min() and X.max() <= 1.0 and X.max() > 0.9
        assert np.array_equal(X, X2) and np.array_equal(y, y2)
        assert np.all(np.bincount(y, minlength=10) == len(y) // 10)
    train_y = a.training[1]
    assert len(set(train_y[:20])) > 3  # rows are shuffled, not sorted by label


def test_embedded_file_has_the_documented_checksum():
    from importlib import resources
    data = resources.files("wdecay.datasets").joinpath("data", "mnist_5k.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SAMPLE_SHA256


def make_pickle(path, sizes=(6, 3, 3), d=784):
    rng = np.random.default_rng(0)
    parts = tuple((rng.random((n, d)).astype(np.float32), rng.integers(0, 10, n)) for n in sizes)
    with gzip.open(path, "wb") as fh:
        pickle.dump(parts, fh, protocol=2)
    return parts


def test_load_mnist_pickle(tmp_path):
    parts = make_pickle(tmp_path / "mnist.pkl.gz")
    splits = datasets.load_mnist(tmp_path / "mnist.pkl.gz")
    for (X, y), (X0, y0) in zip(splits, parts):
        np.testing.assert_array_equal(X, X0.astype(np.float64))
        np.testing.assert_array_equal(y, y0)


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def make_idx_folder(folder, n_train=12, n_test=4):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test)}
    for name, a in arrays.items():
        write_idx(folder / name, a)
    return arrays


def test_idx_folder_and_fashion_mnist_path(tmp_path):
    arrays = make_idx_folder(tmp_path)
    splits = datasets.load_idx_folder(tmp_path, n_validation=2)
    assert [len(X) for X, _ in splits] == [10, 2, 4]
    np.testing.assert_allclose(splits.training[0][0] * 255,
                               arrays["train-images-idx3-ubyte.gz"][0].ravel())
    with pytest.raises(ValueError, match="truncated"):
        (tmp_path / "bad").mkdir()
        with gzip.open(tmp_path / "bad" / "x.gz", "wb") as fh:
            fh.write(struct.pack(">BBBBI", 0, 0, 8, 1, 10) + b"abc")
        datasets.read_idx(tmp_path / "bad" / "x.gz")
    with pytest.raises(ValueError, match="`n_validation` must be < the 12 training images"):
        datasets.load_mnist(tmp_path)  # Nielsen's 10,000 would leave no training images


def test_fashion_mnist_missing_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_fashion_mnist(tmp_path / "nowhere")


def test_converters_round_trip():
    X = np.random.default_rng(0).random((5, 4))
    y = np.array([0, 2, 1, 2, 0])
    train = datasets.to_network2(X, y, n_classes=3)
    assert train[1][0].shape == (4, 1) and train[1][1].shape == (3, 1) and train[1][1][2, 0] == 1
    test = datasets.to_network2(X, y, one_hot=False)
    assert test[1][1] == 2
    for data in (train, test, iter(test)):
        X2, y2 = datasets.from_network2(data)
        np.testing.assert_array_equal(X2, X)
        np.testing.assert_array_equal(y2, y)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving files from a folder."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_caches(server, tmp_path):
    root, base = server
    make_pickle(root / "mnist.pkl.gz")
    digest = hashlib.sha256((root / "mnist.pkl.gz").read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    path, got = datasets.download_mnist(cache, url=f"{base}/mnist.pkl.gz", sha256=digest,
                                        expected_sizes=(6, 3, 3))
    assert got == digest and len(datasets.load_mnist(path).training[0]) == 6
    (root / "mnist.pkl.gz").unlink()  # a second call uses the cache, not the server
    assert datasets.download_mnist(cache, url=f"{base}/mnist.pkl.gz", sha256=digest)[1] == digest


def test_download_rejects_wrong_digest_and_wrong_structure(server, tmp_path):
    root, base = server
    make_pickle(root / "mnist.pkl.gz")
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        datasets.download_mnist(tmp_path / "c1", url=f"{base}/mnist.pkl.gz", sha256="0" * 64)
    with pytest.raises(ValueError, match="expected"):
        datasets.download_mnist(tmp_path / "c2", url=f"{base}/mnist.pkl.gz")  # 50,000 rows expected
    assert not (tmp_path / "c1" / "mnist.pkl.gz").exists()
    assert not (tmp_path / "c2" / "mnist.pkl.gz").exists()
