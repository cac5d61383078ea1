"""Issue 23: inputs that used to give a silently wrong result, or an unhelpful error.

Each test names the item of the issue it covers. Every error is one line that
names the parameter and what was expected.
"""

import warnings

import numpy as np
import pytest

import wdecay
from wdecay.compat import network2
from wdecay.loop import TrainingDivergedError

X = np.random.default_rng(0).random((10, 4))
y = np.arange(10) % 3


def fit(X=X, y=y, **kw):
    args = dict(epochs=1, batch_size=2, eta=0.1)
    args.update(kw)
    return wdecay.Network([4, 3], seed=0).fit(X, y, **args)


def one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -- silent wrong results -------------------------------------------------------

def test_A9_complex_X_is_refused_naming_the_dtype():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning first: refused before any cast
        with pytest.raises(TypeError, match=r"`X` must be real, got dtype complex128") as e:
            fit(X=X + 1j)
    one_line(e)
    with pytest.raises(TypeError, match=r"`evaluation_data X` must be real, got dtype complex64"):
        fit(evaluation_data=(X.astype(np.complex64), y))
    with pytest.raises(TypeError, match=r"`y` must be real, got dtype complex128"):
        fit(y=np.eye(3)[y] + 0j)


def test_A32_one_hot_rows_of_zeros_are_refused():
    Y = np.eye(3)[y]
    Y[[2, 5]] = 0.0
    with pytest.raises(ValueError, match=r"one-hot `y`: 2 of 10 rows are all zero \(row 2") as e:
        fit(y=Y)
    one_line(e)


def test_A33_scaled_one_hot_targets_are_refused():
    with pytest.raises(ValueError, match=r"one-hot `y` must hold values in \[0, 1\], got "
                                         r"values in \[0, 50\]") as e:
        fit(y=np.eye(3)[y] * 50)
    one_line(e)
    halves = np.eye(3)[y] * 0.5  # in [0, 1], but each row sums to 0.5
    with pytest.raises(ValueError, match=r"10 of 10 rows do not sum to 1 \(row 0 sums to 0.5\)"):
        fit(y=halves)


def test_valid_one_hot_and_probability_targets_still_train_bit_identically():
    soft = np.full((10, 3), 0.2)
    soft[np.arange(10), y] = 0.6
    fit(y=soft)  # class probabilities are targets too
    net1, net2 = wdecay.Network([4, 3], seed=0), wdecay.Network([4, 3], seed=0)
    net1.fit(X, y, epochs=2, batch_size=2, eta=0.1, seed=1)
    net2.fit(X, np.eye(3)[y], epochs=2, batch_size=2, eta=0.1, seed=1)
    for w1, w2 in zip(net1.weights + net1.biases, net2.weights + net2.biases):
        assert np.array_equal(w1, w2)


def test_B43_large_L1_shrink_warns_as_L2_warns_for_its_factor():
    with pytest.warns(UserWarning, match=r"per-step shrink eta\*lmbda/n = 5e\+04 \(eta=0.5, "
                                         r"lmbda=1000000.0, n=10\)"):
        fit(eta=0.5, regularizer=wdecay.L1(1e6))
    with pytest.warns(UserWarning, match="decay factor"):  # L2's, the model it mirrors
        fit(eta=0.5, regularizer=wdecay.L2(12.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wdecay.L1(1.0).factor(0.5, n=1) == 1.0  # c = 0.5: no warning at the bound
        fit(eta=0.5, regularizer=wdecay.L1(5.0))


def test_B43_large_shrink_warns_in_train_many_too():
    from wdecay.sweep.lockstep import train_many

    with pytest.warns(UserWarning, match="per-step shrink"):
        train_many(X, y, [{"eta": 0.5, "lmbda": 1e6, "regularizer": "l1"}], sizes=[4, 3],
                   epochs=1, batch_size=2, seed=0, on_divergence="mark", backend="numpy")


def train2():
    rng = np.random.default_rng(0)
    train = [(rng.random((4, 1)), np.eye(3)[:, [i % 3]]) for i in range(12)]
    evaluation = [(rng.random((4, 1)), i % 3) for i in range(6)]
    np.random.seed(0)
    return network2.Network([4, 5, 3]), train, evaluation


@pytest.mark.parametrize("eta, exc, match", [
    (float("nan"), ValueError, "`eta` must be finite, got nan"),
    (float("inf"), ValueError, "`eta` must be finite, got inf"),
    (0.0, ValueError, "`eta` must be > 0"),
])
def test_M2_compat_non_finite_eta_is_refused(eta, exc, match):
    net, train, _ = train2()
    with pytest.raises(exc, match=match) as e:
        net.SGD(train, 1, 3, eta)
    one_line(e)


def test_M8_compat_divergence_raises_instead_of_ending_with_nan_weights(capsys):
    net, train, _ = train2()
    with np.errstate(all="ignore"):
        with pytest.raises(TrainingDivergedError,
                           match=r"SGD diverged in epoch 0: the weights became NaN or inf .* "
                                 r"use a smaller eta \(got eta=1e\+308\)") as e:
            net.SGD(train, 2, 3, 1e308)
    one_line(e)
    assert "Epoch 0 training complete" not in capsys.readouterr().out
    net, train, _ = train2()
    with pytest.raises(ValueError, match="decay factor"):  # with lmbda the factor refuses first
        net.SGD(train, 2, 3, 1e308, lmbda=1.0)
