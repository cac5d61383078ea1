"""Costs: values against their textbook formulas, NaN-free saturation, delta = dC/dz."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wdecay.costs import COSTS, CrossEntropyCost, LogLikelihoodCost, QuadraticCost, get_cost

zs = arrays(np.float64, (3, 4), elements=st.floats(-8, 8))


@given(z=zs, labels=st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_values_match_textbook_formulas(z, labels):
    y = np.eye(4)[labels]
    a = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(QuadraticCost().fn(z, a, y), 0.5 * np.sum((a - y) ** 2, 1))
    ce = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=1)
    np.testing.assert_allclose(CrossEntropyCost().fn(z, a, y), ce, rtol=1e-9)
    soft = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(LogLikelihoodCost().output(z), soft, rtol=1e-12)
    np.testing.assert_allclose(LogLikelihoodCost().fn(z, soft, y),
                               -np.log(np.sum(soft * y, 1)), rtol=1e-9)


def central_differences(cost, z, y, h):
    """``(C_i(z + h e_ij) - C_i(z - h e_ij)) / 2h`` for every entry ``(i, j)``, row i's cost.

    The r*c bumped copies of ``z`` are stacked as blocks of rows and the cost is
    evaluated once for all of them (a cost is computed row by row, so each block's
    row i is exactly the cost of that copy; one call instead of 2 r c).
    """
    r, c = z.shape
    k = r * c
    rows, cols = np.divmod(np.arange(k), c)
    up, down = np.tile(z, (k, 1, 1)), np.tile(z, (k, 1, 1))
    up[np.arange(k), rows, cols] += h
    down[np.arange(k), rows, cols] -= h
    Y = np.tile(y, (k, 1))

    def row_costs(bumped):
        flat = bumped.reshape(k * r, c)
        return cost.fn(flat, cost.output(flat), Y).reshape(k, r)[np.arange(k), rows]

    return ((row_costs(up) - row_costs(down)) / (2 * h)).reshape(r, c)


@pytest.mark.parametrize("name", sorted(COSTS))
@given(z=zs, labels=st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_delta_is_derivative_of_fn(name, z, labels):
    cost, y = get_cost(name), np.eye(4)[labels]
    numeric = central_differences(cost, z, y, h=1e-6)
    np.testing.assert_allclose(cost.delta(z, cost.output(z), y), numeric, atol=1e-7)


def test_central_differences_are_those_of_one_bumped_entry_at_a_time():
    """The stacked evaluation gives, bit for bit, the derivative of one copy per entry."""
    rng, h = np.random.default_rng(0), 1e-6
    for name in sorted(COSTS):
        cost = get_cost(name)
        for _ in range(20):
            z, y = rng.uniform(-8, 8, (3, 4)), np.eye(4)[rng.integers(0, 4, 3)]
            one_by_one = np.empty_like(z)
            for idx in np.ndindex(*z.shape):
                up, down = z.copy(), z.copy()
                up[idx] += h
                down[idx] -= h
                one_by_one[idx] = (cost.fn(up, cost.output(up), y)[idx[0]]
                                   - cost.fn(down, cost.output(down), y)[idx[0]]) / (2 * h)
            np.testing.assert_array_equal(central_differences(cost, z, y, h), one_by_one)


def test_cross_entropy_cannot_produce_nan_when_saturated():
    z = np.array([[800.0, -800.0, 40.0]])
    c = CrossEntropyCost()
    a = c.output(z)
    assert a[0, 0] == 1.0 and a[0, 1] == 0.0  # the sigmoid rounds to exactly 0 and 1
    value = c.fn(z, a, np.array([[0.0, 1.0, 1.0]]))
    assert np.isfinite(value).all()
    np.testing.assert_allclose(value, [800.0 + 800.0 + np.log1p(np.exp(-40.0))])


def test_log_likelihood_is_finite_for_extreme_z():
    z = np.array([[1000.0, -1000.0]])
    c = LogLikelihoodCost()
    assert np.isfinite(c.fn(z, c.output(z), np.array([[0.0, 1.0]]))).all()


def test_get_cost_accepts_classes_names_and_network2_class_names():
    assert get_cost(CrossEntropyCost) == CrossEntropyCost()
    assert get_cost("CrossEntropyCost") == CrossEntropyCost()
    assert get_cost("quadratic") == QuadraticCost()
