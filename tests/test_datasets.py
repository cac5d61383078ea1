"""Loaders: embedded sample, mnist.pkl.gz, IDX files, Fashion-MNIST, download, converters."""

import gzip
import hashlib
import os
import http.server
import pickle
import struct
import threading
import warnings

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


# -- every bad input is refused, naming the file and the part (issue 12, item 12) -----------

def write_parts(path, parts):
    with gzip.open(path, "wb") as fh:
        pickle.dump(parts, fh, protocol=2)


def good_parts(d=784, scale=1.0):
    rng = np.random.default_rng(1)
    return [[(rng.random((n, d)) * scale).astype(np.float32), rng.integers(0, 10, n)]
            for n in (6, 3, 3)]


def test_twenty_image_idx_folder_refuses_nielsens_split_and_loads_a_smaller_one(tmp_path):
    make_idx_folder(tmp_path, n_train=20, n_test=5)
    with pytest.raises(ValueError, match="`n_validation` must be < the 20 training images"):
        datasets.load_idx_folder(tmp_path)
    assert [len(X) for X, _ in datasets.load_idx_folder(tmp_path, n_validation=5)] == [15, 5, 5]
    with pytest.raises(ValueError, match="`n_validation` must be >= 0, got -3"):
        datasets.load_idx_folder(tmp_path, n_validation=-3)
    with pytest.raises(TypeError, match="`n_validation` must be an integer"):
        datasets.load_idx_folder(tmp_path, n_validation=2.5)


def test_test_images_must_match_the_training_image_size(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((4, 10, 10)))
    with pytest.raises(ValueError, match=r"\[test\]: images have 100 pixels, but the training "
                                         r"images have 784"):
        datasets.load_idx_folder(tmp_path, n_validation=2)
    parts = good_parts()
    parts[2][0] = parts[2][0][:, :100]
    write_parts(tmp_path / "m.pkl.gz", tuple(map(tuple, parts)))
    with pytest.raises(ValueError, match=r"m.pkl.gz \[test\]: images have 100 pixels"):
        datasets.load_mnist(tmp_path / "m.pkl.gz")


@pytest.mark.parametrize("change, message", [
    (lambda p: p[0].__setitem__(1, np.array([0, 2.5, 1, 1, 1, 1])),
     r"\[training\]: labels must be whole numbers 0-9, got 2.5"),
    (lambda p: p[1].__setitem__(1, np.array([0, 10, 1])), r"\[validation\]: labels must be 0-9"),
    (lambda p: p[2].__setitem__(1, np.array([0, -1, 1])), r"\[test\]: labels must be 0-9"),
    (lambda p: p[0][0].__setitem__((2, 5), np.nan), r"\[training\]: images contain 1 NaN or inf"),
    (lambda p: p[1][0].__setitem__((0, 0), np.inf), r"\[validation\]: images contain 1 NaN or inf"),
    (lambda p: p[0].__setitem__(1, np.array([True] * 6)), r"labels must be integers"),
    (lambda p: p.__setitem__(0, (np.zeros((0, 784), np.float32), np.zeros(0, np.int64))),
     r"\[training\]: no training images"),
])
def test_pickle_contents_are_checked(tmp_path, change, message):
    parts = good_parts()
    change(parts)
    write_parts(tmp_path / "m.pkl.gz", tuple(map(tuple, parts)))
    with pytest.raises(ValueError, match=message):
        datasets.load_mnist(tmp_path / "m.pkl.gz")


def test_to_network2_refuses_labels_outside_the_classes():
    X = np.zeros((3, 4))
    with pytest.raises(ValueError, match="labels must be 0-9"):
        datasets.to_network2(X, np.array([0, -1, 2]))
    with pytest.raises(ValueError, match="labels must be 0-2"):
        datasets.to_network2(X, np.array([0, 3, 2]), n_classes=3, one_hot=False)
    with pytest.raises(ValueError, match="whole numbers"):
        datasets.to_network2(X, np.array([0, 2.5, 2]))
    with pytest.raises(ValueError, match="NaN or inf"):
        datasets.to_network2(np.full((3, 4), np.nan), np.array([0, 1, 2]))


def test_warns_once_when_pixels_look_like_0_255(tmp_path):
    write_parts(tmp_path / "raw.pkl.gz", tuple(map(tuple, good_parts(scale=255.0))))
    with pytest.warns(UserWarning, match="look like 0-255 pixels") as record:
        datasets.load_mnist(tmp_path / "raw.pkl.gz")
    assert len([w for w in record if "0-255" in str(w.message)]) == 1
    with pytest.warns(UserWarning, match="0-255"):
        datasets.to_network2(np.full((2, 3), 200.0), np.array([1, 2]))
    write_parts(tmp_path / "scaled.pkl.gz", tuple(map(tuple, good_parts())))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # [0, 1] pixels: no warning
        datasets.load_mnist(tmp_path / "scaled.pkl.gz")


def test_a_corrupt_cached_file_is_not_returned_as_a_success(tmp_path):
    """No server is contacted: the cache hit itself is checked."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.pkl.gz").write_bytes(b"\x1f\x8b" + b"garbage" * 100)
    with pytest.raises(ValueError, match="cached .* is corrupt.*force=True"):
        datasets.download_mnist(cache, url="http://127.0.0.1:9/never")
    good = cache / "mnist.pkl.gz"
    make_pickle(good)  # a valid file placed by hand is checked once, then trusted by its digest
    path, digest = datasets.download_mnist(cache, url="http://127.0.0.1:9/never",
                                           expected_sizes=(6, 3, 3))
    assert (cache / "mnist.pkl.gz.sha256").read_text().strip() == digest
    data = bytearray(good.read_bytes())
    data[-12] ^= 0xFF  # corrupt it after it was recorded
    good.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="cached .* is corrupt"):
        datasets.download_mnist(cache, url="http://127.0.0.1:9/never", expected_sizes=(6, 3, 3))


# -- Fashion-MNIST: the documented files and checksums --------------------------------------

FASHION = datasets.files.FASHION_MNIST_DIR
needs_debian_fashion = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(FASHION, n)) for n in datasets.FASHION_MNIST_FILES),
    reason=f"Debian's dataset-fashion-mnist is not installed ({FASHION})")


@needs_debian_fashion
def test_fashion_checksums_are_those_of_debians_files():
    for name, (_, sha_gz, sha_raw) in datasets.FASHION_MNIST_FILES.items():
        blob = open(os.path.join(FASHION, name), "rb").read()
        assert hashlib.sha256(blob).hexdigest() == sha_gz
        assert hashlib.sha256(gzip.decompress(blob)).hexdigest() == sha_raw
    labels = datasets.read_idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    assert labels.shape == (10000,) and set(labels.tolist()) == set(range(10))


@pytest.mark.skipif(not os.path.exists("/usr/share/doc/dataset-fashion-mnist/README.md.gz"),
                    reason="upstream's README (from Debian's package) is not installed")
def test_fashion_md5s_and_url_are_quoted_from_upstreams_readme():
    readme = gzip.decompress(open("/usr/share/doc/dataset-fashion-mnist/README.md.gz", "rb").read())
    readme = readme.decode()
    for name, (md5, _, _) in datasets.FASHION_MNIST_FILES.items():
        assert f"({datasets.FASHION_MNIST_URL}{name})|`{md5}`" in readme
    doc = datasets.load_fashion_mnist.__doc__
    assert "apt-get install dataset-fashion-mnist" in doc and "FASHION_MNIST_URL + name" in doc


@pytest.mark.slow
@needs_debian_fashion
def test_debians_fashion_mnist_loads_with_the_right_shapes():
    splits = datasets.load_fashion_mnist()
    assert [X.shape for X, _ in splits] == [(50000, 784), (10000, 784), (10000, 784)]
    assert all(0.0 <= X.min() and X.max() <= 1.0 for X, _ in splits)
    assert all(set(np.unique(y).tolist()) == set(range(10)) for _, y in splits)
