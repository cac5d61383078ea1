"""compat's data checks: whole-list passes first, the per-item scan that names the example after.

The fast passes (types and shapes over the whole list) must accept exactly what
the per-item scan accepts, and every refusal keeps its one-line message naming
the parameter and the example.
"""

import random

import numpy as np
import pytest

from wdecay.compat import network2
from wdecay.compat.network2 import _check_pairs

rng = np.random.default_rng(0)
XS = [rng.random((4, 1)) for _ in range(12)]
ONE_HOT = [np.eye(3)[:, [i % 3]] for i in range(12)]


def check(data, one_hot=True, name="training_data"):
    return _check_pairs(data, name, 4, 3, one_hot)


def one_line(excinfo):
    assert "\n" not in str(excinfo.value)


def test_returns_the_inputs_and_labels_in_order():
    xs, ys = check(list(zip(XS, ONE_HOT)))
    assert all(a is b for a, b in zip(xs, XS)) and all(a is b for a, b in zip(ys, ONE_HOT))
    labels = [0, np.int64(2), np.uint8(1), 2]
    xs, ys = check(list(zip(XS, labels)), one_hot=False)
    assert list(ys) == labels


def test_array_likes_take_the_per_item_path_and_pass():
    # nested lists and float32 columns are not float64 ndarrays of the shape: the
    # per-item scan decides, and accepts them as before
    data = [(x.tolist(), y.astype(np.float32)) for x, y in zip(XS, ONE_HOT)]
    xs, _ = check(data)
    assert len(xs) == 12


@pytest.mark.parametrize("k, x, match", [
    (5, np.ones((3, 1)), r"got shape \(3, 1\) in example 5"),
    (0, np.ones(4), r"got shape \(4,\) in example 0"),
    (11, np.ones((1, 4)), r"got shape \(1, 4\) in example 11"),
    (7, [[1.0]] * 3, r"got shape \(3, 1\) in example 7"),
])
def test_bad_input_named_by_example(k, x, match):
    data = list(zip(XS, ONE_HOT))
    data[k] = (x, data[k][1])
    with pytest.raises(ValueError, match=r"^`training_data` inputs must be \(4, 1\) columns "
                                         r"\(the network's sizes\[0\] = 4\), " + match) as e:
        check(data)
    one_line(e)


@pytest.mark.parametrize("k, y, got", [
    (3, 1, "the int label 1"), (9, np.ones(3), r"shape \(3,\)"),
    (0, np.ones((3, 2)), r"shape \(3, 2\)"),
])
def test_bad_one_hot_label_named_by_example(k, y, got):
    data = list(zip(XS, ONE_HOT))
    data[k] = (data[k][0], y)
    with pytest.raises(ValueError, match=rf"^`training_data` labels must be one-hot \(3, 1\) "
                                         rf"columns, .* got {got} in example {k};") as e:
        check(data)
    one_line(e)


@pytest.mark.parametrize("k, y, got", [
    (4, 3, "3"), (2, -1, "-1"), (1, True, "True"), (6, np.bool_(False), r"np.False_"),
    (5, 1.0, "1.0"), (0, np.int64(7), r"np.int64\(7\)"), (8, np.array(1), r"array\(1\)"),
    (3, np.ones((3, 1)), r"an array of shape \(3, 1\) \(one-hot\?\)"),
])
def test_bad_int_label_named_by_example(k, y, got):
    data = list(zip(XS, [i % 3 for i in range(12)]))
    data[k] = (data[k][0], y)
    with pytest.raises(ValueError, match=rf"^`evaluation_data` labels must be int class "
                                         rf"indices in \[0, 2\], .* got {got} "
                                         rf"in example {k};") as e:
        check(data, one_hot=False, name="evaluation_data")
    one_line(e)


@pytest.mark.parametrize("data", [[XS[0]], [(XS[0],)], [(XS[0], 0, 1)], 5])
def test_not_pairs(data):
    with pytest.raises(TypeError, match=r"^`training_data` must be a list of \(x, y\) pairs"):
        check(data)


def test_sgd_trains_on_tuples_lists_and_a_generator_alike():
    # the epoch loop indexes the checked inputs and labels: any iterable of pairs works
    data = list(zip(XS, ONE_HOT))
    results = []
    for make in (list, tuple, iter, lambda d: [list(p) for p in d]):
        np.random.seed(0)
        net = network2.Network([4, 5, 3])
        random.seed(0)
        net.SGD(make(data), 2, 5, 0.5, lmbda=1.0)
        results.append([w.copy() for w in net.weights + net.biases])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed, size", [(0, 0), (1, 1), (2, 2), (3, 10), (7, 10000), (8, 65537)])
def test_shuffle_consumes_random_as_random_shuffle(seed, size):
    """network2's per-epoch shuffle: random.shuffle's permutation and generator state."""
    from wdecay.compat.network2 import _shuffle
    a, b = list(range(size)), list(range(size))
    random.seed(seed)
    random.shuffle(a)
    after = random.getstate()
    random.seed(seed)
    _shuffle(b)
    assert a == b and random.getstate() == after


def test_shuffle_defers_to_a_patched_random_shuffle(monkeypatch):
    from wdecay.compat.network2 import _shuffle
    calls = []
    monkeypatch.setattr(random, "shuffle", lambda x: calls.append(len(x)))
    order = list(range(5))
    _shuffle(order)
    assert calls == [5] and order == list(range(5))


@pytest.mark.parametrize("dtypes", [[np.float64] * 3, [np.float64, np.float32, np.float64],
                                    [np.int64] * 3])
def test_rows_stack_columns_as_float64_rows(dtypes):
    from wdecay.compat.network2 import _rows
    rng = np.random.default_rng(0)
    cols = [(rng.standard_normal((4, 1)) * 100).astype(dt) for dt in dtypes]
    rows = _rows(cols)
    expected = np.concatenate([c.reshape(1, -1) for c in cols]).astype(np.float64)
    assert rows.dtype == np.float64 and rows.flags.c_contiguous
    assert rows.tobytes() == expected.tobytes()
