"""A per-example reference implementation of Nielsen's SGD, written like network2.py.

Column vectors, one example at a time, gradients summed over the mini-batch in a
Python loop. It shares nothing with wdecay's vectorized engine except the
formulas, so agreement between the two is evidence that both are right. The
benchmarks also run it as a stand-in for network2.py.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACT = {
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def output(cost, z):
    if cost == "log-likelihood":
        e = np.exp(z - z.max())
        return e / e.sum()
    return sigmoid(z)


def output_delta(cost, z, a, y):
    if cost == "quadratic":
        return (a - y) * sigmoid(z) * (1 - sigmoid(z))
    return a - y


def backprop_one(weights, biases, x, y, cost="cross-entropy", act="sigmoid"):
    """Gradients of C_x for one column x (d, 1) and target column y (k, 1)."""
    f, fprime = ACT[act]
    a, activations, zs = x, [x], []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b
        a = output(cost, z) if layer == len(weights) - 1 else f(z)
        zs.append(z)
        activations.append(a)
    delta = output_delta(cost, zs[-1], activations[-1], y)
    nabla_w = [None] * len(weights)
    nabla_b = [None] * len(weights)
    nabla_w[-1], nabla_b[-1] = delta @ activations[-2].T, delta
    for layer in range(2, len(weights) + 1):
        delta = (weights[-layer + 1].T @ delta) * fprime(zs[-layer])
        nabla_w[-layer] = delta @ activations[-layer - 1].T
        nabla_b[-layer] = delta
    return nabla_w, nabla_b


def train(weights, biases, X, Y, *, epochs, batch_size, eta, lmbda=0.0, penalty="l2",
          cost="cross-entropy", act="sigmoid", seed=None):
    """Nielsen's SGD one example at a time; weights (out, in), biases (out,)."""
    weights = [w.copy() for w in weights]
    biases = [b.reshape(-1, 1).copy() for b in biases]
    n = len(X)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            nw = [np.zeros_like(w) for w in weights]
            nb = [np.zeros_like(b) for b in biases]
            for i in batch:
                dw, db = backprop_one(weights, biases, X[i][:, None], Y[i][:, None], cost, act)
                nw = [a + d for a, d in zip(nw, dw)]
                nb = [a + d for a, d in zip(nb, db)]
            m = len(batch)
            if penalty == "l2":
                weights = [(1 - eta * lmbda / n) * w - (eta / m) * g for w, g in zip(weights, nw)]
            elif penalty == "l1":
                weights = [w - eta * (lmbda / n) * np.sign(w) - (eta / m) * g
                           for w, g in zip(weights, nw)]
            else:
                weights = [w - (eta / m) * g for w, g in zip(weights, nw)]
            biases = [b - (eta / m) * g for b, g in zip(biases, nb)]
    return weights, [b.ravel() for b in biases]
