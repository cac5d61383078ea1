"""Control monitors: the progress bar (plain text forced, so tqdm's presence does not matter)."""

import io

import numpy as np

import wdecay
from wdecay.monitors import ProgressBar


def train(bar, epochs):
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 3)), rng.integers(0, 2, 20)
    wdecay.Network([3, 2], seed=0).fit(X, y, epochs=epochs, batch_size=10, eta=0.1,
                                       monitors=[bar], seed=0)


def test_plain_bar_names_the_epoch_and_erases_itself():
    out = io.StringIO()
    train(ProgressBar(out, force=True, use_tqdm=False), 2)
    text = out.getvalue()
    assert "training epoch 1/2" in text and "training epoch 2/2" in text
    assert text.count("\r\033[K") == 2


def test_one_epoch_is_singular():
    out = io.StringIO()
    train(ProgressBar(out, force=True, use_tqdm=False), 1)
    assert "epoch 1/1" in out.getvalue() and "epochs" not in out.getvalue()


def test_silent_off_a_terminal():
    out = io.StringIO()
    train(ProgressBar(out, use_tqdm=False), 2)
    assert out.getvalue() == ""
