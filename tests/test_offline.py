"""wdecay.datasets.offline: full MNIST from Keras's, torchvision's and scikit-learn's caches.

Every file here is fake and built in a temporary HOME; nothing is downloaded.
"""

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

from wdecay.datasets import offline
from wdecay.datasets.files import IDX_FILES

SHAPES = {"train_images": (60_000, 28, 28), "train_labels": (60_000,),
          "test_images": (10_000, 28, 28), "test_labels": (10_000,)}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty HOME and working folder: no cache anywhere."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KERAS_HOME", "SCIKIT_LEARN_DATA", "WDECAY_DATA", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "home"


def _images(n):
    """Mostly blank images (they compress fast), each with a few marked pixels."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 14, :3] = (np.arange(n)[:, None] * [1, 7, 13]) % 256
    return images


def _arrays(labels_max=9, train=60_000):
    return {"train_images": _images(train),
            "train_labels": (np.arange(train) % (labels_max + 1)).astype(np.uint8),
            "test_images": _images(10_000),
            "test_labels": (np.arange(10_000) % 10).astype(np.uint8)}


def _idx_bytes(a):
    return bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def _write_idx(folder, arrays, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_FILES.items():
        data = _idx_bytes(arrays[key])
        if gz:
            (folder / name).write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
        else:
            (folder / name[:-3]).write_bytes(data)


def test_nothing_found_is_one_line_naming_every_place_and_the_command(home):
    with pytest.raises(FileNotFoundError) as info:
        offline.find_offline_mnist()
    text = str(info.value)
    assert "\n" not in text
    assert str(home / ".keras" / "datasets" / "mnist.npz") in text
    assert os.path.join("data", "MNIST", "raw") in text and "scikit_learn_data" in text
    assert text.endswith(offline.GET_MNIST)


def test_keras_cache_is_found_checked_and_split_like_nielsens(home):
    a = _arrays()
    path = home / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=a["train_images"], y_train=a["train_labels"],
             x_test=a["test_images"], y_test=a["test_labels"])
    splits, name = offline.find_offline_mnist()
    (X, y), (Xv, yv), (Xt, yt) = splits
    assert (X.shape, Xv.shape, Xt.shape) == ((50_000, 784), (10_000, 784), (10_000, 784))
    assert X.max() <= 1.0 and np.array_equal(yv, a["train_labels"][50_000:])
    assert np.allclose(X[0], a["train_images"][0].ravel() / 255)
    assert str(path) in name and "checksum unverified, structure checked" in name  # fake bytes


def test_keras_checksum_is_keras_published_sha256(home, monkeypatch):
    a = _arrays()
    path = home / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=a["train_images"], y_train=a["train_labels"],
             x_test=a["test_images"], y_test=a["test_labels"])
    monkeypatch.setattr(offline, "KERAS_MNIST_SHA256",
                        hashlib.sha256(path.read_bytes()).hexdigest())
    assert "(checksum verified)" in offline.find_offline_mnist()[1]


def test_wrong_shape_or_labels_are_refused_naming_the_file(home):
    path = home / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    a = _arrays(train=600)
    np.savez(path, x_train=a["train_images"], y_train=a["train_labels"],
             x_test=a["test_images"], y_test=a["test_labels"])
    with pytest.raises(ValueError, match=r"mnist\.npz: train_images has shape \(600, 28, 28\)"):
        offline.find_offline_mnist()
    a = _arrays(labels_max=11)
    np.savez(path, x_train=a["train_images"], y_train=a["train_labels"],
             x_test=a["test_images"], y_test=a["test_labels"])
    with pytest.raises(ValueError, match="digits 0-9"):
        offline.find_offline_mnist()


def test_a_pickled_npz_is_refused(home):
    path = home / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="not Keras's mnist.npz"):
        offline.find_offline_mnist()


@pytest.mark.parametrize("gz", [True, False])
def test_torchvision_raw_folder_is_found(home, gz, monkeypatch):
    a = _arrays()
    folder = home.parent / "work" / "data" / "MNIST" / "raw"
    _write_idx(folder, a, gz=gz)
    splits, name = offline.find_offline_mnist()
    assert np.array_equal(splits.test[1], a["test_labels"])
    assert "IDX files in" in name and "unverified" in name
    if gz:  # with torchvision's published MD5s the same files count as verified
        monkeypatch.setattr(offline, "MNIST_GZ_MD5", {
            name: hashlib.md5((folder / name).read_bytes()).hexdigest()
            for name in IDX_FILES.values()})
        assert "(checksum verified)" in offline.find_offline_mnist()[1]


def test_truncated_raw_idx_is_refused(home):
    a = _arrays()
    folder = home / ".cache" / "MNIST" / "raw"
    _write_idx(folder, a, gz=False)
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="header declares shape"):
        offline.find_offline_mnist()


def test_scikit_learn_cache_is_read_by_scikit_learn_without_download(home, monkeypatch):
    """scikit-learn reads its own cache; here a stand-in module records how it was asked."""
    import sys
    import types

    a = _arrays()
    (home / "scikit_learn_data" / "openml").mkdir(parents=True)
    seen = {}

    class Bunch:
        data = np.concatenate([a["train_images"], a["test_images"]]).reshape(70_000, 784)
        target = np.concatenate([a["train_labels"], a["test_labels"]]).astype(str)

    def fetch(name, **kwargs):
        seen.update(kwargs, name=name)
        return Bunch()

    fake = types.ModuleType("sklearn.datasets")
    fake.fetch_openml = fetch
    monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    monkeypatch.setitem(sys.modules, "sklearn.datasets", fake)
    splits, name = offline.find_offline_mnist()
    assert seen["name"] == "mnist_784" and seen["download_if_missing"] is False
    assert seen["data_home"] == str(home / "scikit_learn_data")
    assert np.array_equal(splits.test[1], a["test_labels"])
    assert "scikit-learn's OpenML cache" in name and "unverified" in name


def test_without_scikit_learn_its_cache_is_passed_over(home, monkeypatch):
    import sys

    (home / "scikit_learn_data" / "openml").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import fails
    with pytest.raises(FileNotFoundError, match="no MNIST on this machine"):
        offline.find_offline_mnist()
