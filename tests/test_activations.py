"""Activations: derivative against central differences, and the in-place form."""

import numpy as np
import pytest

from wdecay.activations import ACTIVATIONS, get_activation


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_prime_matches_central_differences(name):
    act = get_activation(name)
    z = np.linspace(-4, 4, 41) + 0.013  # avoid relu's kink at exactly 0
    h = 1e-6
    np.testing.assert_allclose(act.prime(z), (act.fn(z + h) - act.fn(z - h)) / (2 * h),
                               atol=1e-8)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_multiply_prime_from_output_equals_prime(name):
    act = get_activation(name)
    z = np.random.default_rng(0).standard_normal((5, 3)) * 3
    delta = np.random.default_rng(1).standard_normal((5, 3))
    expected = delta * act.prime(z)
    act.multiply_prime(delta, act.fn(z))
    np.testing.assert_allclose(delta, expected, rtol=1e-12, atol=1e-15)
