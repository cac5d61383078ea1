"""compat.mnist_loader and load_mnist(None) find mnist.pkl.gz where book scripts expect it."""

import gzip
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

from wdecay import datasets
from wdecay.compat import mnist_loader

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def write(path, n_train):
    """A small mnist.pkl.gz whose training size tells the files apart."""
    rng = np.random.default_rng(n_train)
    parts = tuple((rng.random((n, 784)).astype(np.float32), rng.integers(0, 10, n))
                  for n in (n_train, 3, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        pickle.dump(parts, fh, protocol=2)


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """The book's layout: run from book/src, data in book/data; HOME and WDECAY_DATA isolated."""
    src = tmp_path / "book" / "src"
    src.mkdir(parents=True)
    monkeypatch.chdir(src)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WDECAY_DATA", raising=False)
    return tmp_path


def n_train(path=None):
    return len(mnist_loader.load_data(path)[0][0])


def test_search_order(layout, monkeypatch):
    cache = layout / "home" / ".cache" / "wdecay" / "mnist.pkl.gz"
    write(cache, 4)
    assert n_train() == 4 and datasets.find_mnist() == str(cache)
    env = layout / "elsewhere"
    write(env / "mnist.pkl.gz", 5)
    monkeypatch.setenv("WDECAY_DATA", str(env))
    assert n_train() == 5
    write(layout / "named.pkl.gz", 9)
    monkeypatch.setenv("WDECAY_DATA", str(layout / "named.pkl.gz"))  # the file itself
    assert n_train() == 9
    write(layout / "book" / "data" / "mnist.pkl.gz", 6)
    assert n_train() == 6  # ../data/mnist.pkl.gz, the book's layout
    write(layout / "book" / "src" / "mnist.pkl.gz", 7)
    assert n_train() == 7  # ./mnist.pkl.gz first
    assert len(datasets.load_mnist().training[0]) == 7  # load_mnist(None) searches the same way
    assert datasets.data_locations()[:2] == [os.path.join(".", "mnist.pkl.gz"),
                                             os.path.join("..", "data", "mnist.pkl.gz")]


def test_missing_everywhere_prints_the_one_line_fix(layout):
    for call in (mnist_loader.load_data, mnist_loader.load_data_wrapper, datasets.load_mnist):
        with pytest.raises(FileNotFoundError) as exc:
            call()
        message = str(exc.value)
        assert "\n" not in message
        assert "download_mnist()" in message and "write_mnist_pickle(" in message
        assert os.path.join("..", "data", "mnist.pkl.gz") in message


def test_wrapper_gives_network2_shapes_and_plain_int_labels(layout):
    write(layout / "book" / "src" / "mnist.pkl.gz", 8)
    tr, va, te = mnist_loader.load_data_wrapper()
    assert len(tr) == 8 and tr[0][0].shape == (784, 1) and tr[0][1].shape == (10, 1)
    assert type(va[0][1]) is int and len(te) == 3


def test_seed_question_example_does_not_write_mnist_pkl_gz(tmp_path):
    env = dict(os.environ, WDECAY_EXAMPLE_SMALL="1", HOME=str(tmp_path / "home"))
    env.pop("WDECAY_DATA", None)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(EXAMPLES / "seed_question.py")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("training complete") == 2
    assert not (work / "mnist.pkl.gz").exists()
    assert (work / "mnist_sample.pkl.gz").exists()
    assert len(datasets.load_mnist(work / "mnist_sample.pkl.gz").training[0]) == 4000
