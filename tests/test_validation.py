"""Bad input gets a ValueError or TypeError naming the parameter."""

import numpy as np
import pytest

import wdecay

X = np.random.default_rng(0).random((10, 4))
y = np.arange(10) % 3


def net():
    return wdecay.Network([4, 3], seed=0)


def fit(**kw):
    args = dict(epochs=1, batch_size=2, eta=0.1)
    args.update(kw)
    data = args.pop("X", X), args.pop("y", y)
    return net().fit(*data, **args)


@pytest.mark.parametrize("sizes, match", [
    ([4], "at least 2"), ([], "at least 2"), ([4, 0], "positive"), ([4, -1, 3], "positive"),
    ([4, 2.5], "positive"), ("43", "at least 2"),
])
def test_bad_sizes(sizes, match):
    with pytest.raises(ValueError, match=match):
        wdecay.Network(sizes)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(eta=0.0), ValueError, r"`eta` must be > 0, got 0.0"),
    (dict(eta=-0.1), ValueError, r"`eta` must be > 0, got -0.1"),
    (dict(eta=float("nan")), ValueError, "`eta` must be finite"),
    (dict(batch_size=0), ValueError, r"`batch_size` must be >= 1"),
    (dict(batch_size=2.0), TypeError, "`batch_size` must be an integer"),
    (dict(epochs=-1), ValueError, r"`epochs` must be >= 0"),
    (dict(regularizer=None, X=X[:, :3]), ValueError, "`X` must have 4 columns"),
    (dict(X=X[:0], y=y[:0]), ValueError, "`X` is empty"),
    (dict(X=np.where(X > 0.5, np.nan, X)), ValueError, "`X` contains .* NaN or inf"),
    (dict(X=np.where(X > 0.5, np.inf, X)), ValueError, "`X` contains .* NaN or inf"),
    (dict(X=X[:, :, None]), ValueError, r"`X` must have shape \(n_samples, n_features\)"),
    (dict(y=y + 1), ValueError, r"`y` labels must be in \[0, 2\]"),
    (dict(y=y - 1), ValueError, r"`y` labels must be in \[0, 2\]"),
    (dict(y=y[:5]), ValueError, "`y` must have 10 rows"),
    (dict(y=np.eye(4)[y]), ValueError, "one-hot `y` must have 3 columns"),
    (dict(y=y + 0.5), ValueError, "`y` labels must be integers"),
    (dict(evaluation_data=(X[:, :2], y)), ValueError, "`evaluation_data X` must have 4 columns"),
    (dict(evaluation_data=X), TypeError, "`evaluation_data` must be a pair"),
    (dict(monitors=[lambda s: None]), TypeError, "LambdaMonitor"),
])
def test_bad_fit_arguments(kw, exc, match):
    with pytest.raises(exc, match=match):
        fit(**kw)


def test_negative_lambda():
    with pytest.raises(ValueError, match=r"`lmbda` must be >= 0, got -1.0"):
        wdecay.L2(-1.0)


@pytest.mark.parametrize("family, kw, match", [
    ("cost", dict(cost="xent"), "unknown cost 'xent'; choose one of 'cross-entropy'"),
    ("activation", dict(activation="gelu"), "unknown activation 'gelu'; choose one of"),
    ("initializer", dict(initializer="huge"), "unknown initializer 'huge'"),
])
def test_unknown_names_list_choices(family, kw, match):
    with pytest.raises(ValueError, match=match):
        wdecay.Network([2, 2], **kw)


def test_feedforward_and_accuracy_check_shapes():
    with pytest.raises(ValueError, match="`X` must have 4 columns"):
        net().feedforward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        net().accuracy(X, y + 5)


# -- the finite check: one sum, the element-wise count only when the sum is not finite ------

@pytest.fixture
def exact_calls(monkeypatch):
    """Record the arrays the element-wise count runs on."""
    from wdecay import _validation

    calls, exact = [], _validation._count_nonfinite_exact
    monkeypatch.setattr(_validation, "_count_nonfinite_exact",
                        lambda a: calls.append(a) or exact(a))
    return calls


@pytest.mark.parametrize("bad, count", [
    ([np.nan], 1), ([np.inf], 1), ([-np.inf], 1),
    ([np.inf, -np.inf], 2),  # inf - inf cancels to NaN in the sum: still caught
    ([np.nan, np.inf, -np.inf], 3),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_check_catches_nan_and_inf(exact_calls, bad, count, dtype):
    Xb = X.astype(dtype)
    Xb.flat[:len(bad)] = bad
    with pytest.raises(ValueError, match=rf"^`X` contains {count} NaN or inf values; "
                                         "it must be finite$"):
        wdecay._validation.check_features(Xb, "X", 4, dtype=dtype)
    assert len(exact_calls) == 1  # the exact count names how many
    with pytest.raises(ValueError, match=rf"`X` contains {count} NaN or inf"):
        fit(X=Xb.astype(np.float64))


@pytest.mark.parametrize("dtype, huge", [(np.float64, 1e308), (np.float32, 3e38)])
def test_finite_check_overflowing_sum_is_no_false_alarm(exact_calls, dtype, huge):
    # finite entries whose sum overflows to inf: the exact count decides, and finds none
    Xh = np.full((6, 4), huge, dtype=dtype)
    with np.errstate(over="ignore"):
        assert not np.isfinite(Xh.sum())
    out = wdecay._validation.check_features(Xh, "X", 4, dtype=dtype)
    assert len(exact_calls) == 1
    np.testing.assert_array_equal(out, Xh)
    assert wdecay._validation.count_nonfinite(-Xh) == 0


def test_finite_check_reads_clean_data_once(exact_calls):
    out = wdecay._validation.check_features(X, "X", 4)
    assert exact_calls == []  # the sum alone proved it finite
    assert out is X or np.array_equal(out, X)


def test_one_hot_targets_finite_check(exact_calls):
    Y = np.eye(3)[y]
    Y[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"^`y` contains NaN or inf values; it must be finite$"):
        wdecay._validation.check_targets(Y, len(Y), 3)
    assert len(exact_calls) == 1
