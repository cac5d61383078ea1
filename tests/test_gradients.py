"""The training step's gradient against central differences, every cost x activation x regularizer.

One full-batch step of ``fit`` with eta = 1 moves the weights by exactly minus the
gradient of the regularized mean cost J = mean C_x + penalty (Nielsen's SGD:
w1 = a w0 + shrink - eta g, so (w0 - w1) / eta = g + (lmbda/n) w for L2 and
g + (lmbda/n) sign(w) for L1). The test reads that gradient off the step that
training runs (the fused gemm path for L2 and none, the separate one for L1) and
compares it with central differences of J computed by ``Network.forward``.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from strategies import layer_sizes, lmbdas, make_data, seeds

import wdecay
from wdecay.activations import ACTIVATIONS
from wdecay.costs import COSTS
from wdecay.regularizers import get_regularizer


def regularized_cost(net, X, Y, reg, n):
    zs, acts = net.forward(X)
    return float(np.mean(net.cost.fn(zs[-1], acts[-1], Y))) + reg.penalty(net.weights, n)


@pytest.mark.parametrize("cost", sorted(COSTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("reg_name", ["none", "l2", "l1"])
@settings(max_examples=6)
@given(sizes=layer_sizes, lmbda=lmbdas, seed=seeds)
def test_training_step_matches_central_differences(cost, activation, reg_name, sizes, lmbda,
                                                   seed):
    net = wdecay.Network(sizes, cost=cost, activation=activation, seed=seed)
    n = 50  # the penalty's n is the training-set size, here one full batch
    X, y = make_data(sizes, n, seed)
    Y = np.eye(sizes[-1])[y]
    # a kink (ReLU at 0) within the step h of a pre-activation makes central differences wrong:
    # keep every hidden pre-activation far from 0 compared with what a step of h moves it
    zs, _ = net.forward(X)
    assume(activation != "relu" or all(np.abs(z).min() > 1e-4 for z in zs[:-1]))
    reg = get_regularizer(reg_name, lmbda)
    before = [p.copy() for p in net.parameters()]
    trained = net.copy()
    trained.fit(X, y, epochs=1, batch_size=n, eta=1.0, regularizer=reg, seed=0,
                backend="numpy")  # the numpy engine; test_training checks numba against it
    grads = [b - a for b, a in zip(before, trained.parameters())]
    rng = np.random.default_rng(seed + 1)
    h = 1e-6
    for p, g in zip(net.parameters(), grads):
        for idx in [tuple(rng.integers(0, s) for s in p.shape) for _ in range(3)]:
            old = p[idx]
            p[idx] = old + h
            up = regularized_cost(net, X, Y, reg, n)
            p[idx] = old - h
            down = regularized_cost(net, X, Y, reg, n)
            p[idx] = old
            numeric = (up - down) / (2 * h)
            # central differences are accurate to ~h^2 * J''' plus rounding ~eps * J / h
            assert abs(numeric - g[idx]) <= 1e-6 * max(1.0, abs(g[idx])), (idx, numeric, g[idx])


def test_backprop_is_the_training_pass():
    """Network.backprop (summed gradients) equals one SGD step's gradient times the batch size."""
    X, y = make_data([4, 5, 3], 12, 0)
    net = wdecay.Network([4, 5, 3], seed=0)
    gw, gb = net.backprop(X, np.eye(3)[y])
    trained = net.copy()
    trained.fit(X, y, epochs=1, batch_size=12, eta=1.0, seed=0, backend="numpy")
    for g, a, b in zip(gw + gb, net.parameters(), trained.parameters()):
        np.testing.assert_allclose(g / 12, a - b, rtol=1e-12, atol=1e-15)
