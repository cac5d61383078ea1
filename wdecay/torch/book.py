"""The book's network in torch: the same weights, cost and mini-batch order as wdecay's.

:func:`from_network` copies a :class:`wdecay.Network` (sigmoid hidden units,
cross-entropy or quadratic cost with sigmoid outputs) into an
``nn.Module`` with layers ``fc1``, ``fc2``, ... (``fc{l}.weight`` is wdecay's
``layer{l}``); :func:`cost` is wdecay's cost of a mini-batch, the mean over
its rows of the per-example cost; :func:`batches` yields the index arrays of
one epoch in the order :func:`wdecay.fit` draws them from its seed (a fresh
``rng.permutation(n)`` per epoch, consecutive slices of ``batch_size``).

Examples
--------
>>> import numpy as np, wdecay
>>> net = wdecay.Network([4, 3, 2], seed=0)
>>> model = from_network(net)
>>> [name for name, _ in model.named_parameters()]
['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
>>> bool(np.allclose(model(torch.ones(1, 4, dtype=torch.float64)).detach().numpy(),
...                  net.feedforward(np.ones((1, 4)))))
True
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class BookNetwork(torch.nn.Module):
    """Fully connected layers ``fc1``, ``fc2``, ...; sigmoid hidden units and outputs.

    ``forward`` returns the output activations; ``logits`` the output weighted inputs z.
    """

    def __init__(self, sizes, dtype=torch.float64):
        super().__init__()
        self.sizes = list(sizes)
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
            setattr(self, f"fc{l}", torch.nn.Linear(n_in, n_out, dtype=dtype))

    def layers(self):
        return [getattr(self, f"fc{l}") for l in range(1, len(self.sizes))]

    def logits(self, x):
        *hidden, last = self.layers()
        for layer in hidden:
            x = torch.sigmoid(layer(x))
        return last(x)

    def forward(self, x):
        return torch.sigmoid(self.logits(x))


def from_network(net, dtype=torch.float64):
    """A :class:`BookNetwork` with ``net``'s weights and biases (copied)."""
    if net.activation.name != "sigmoid" or net.cost.name not in ("cross-entropy", "quadratic"):
        raise ValueError("from_network copies sigmoid networks with the cross-entropy or "
                         f"quadratic cost, got {net.activation.name} and {net.cost.name}")
    model = BookNetwork(net.sizes, dtype=dtype)
    with torch.no_grad():
        for layer, w, b in zip(model.layers(), net.weights, net.biases):
            layer.weight.copy_(torch.from_numpy(np.asarray(w)))
            layer.bias.copy_(torch.from_numpy(np.asarray(b)))
    return model


def cost(z, y, name="cross-entropy"):
    """wdecay's mean cost of the rows: cross-entropy sum_j [ln(1 + e^z_j) - y_j z_j], or quadratic.

    ``z`` are the output weighted inputs (:meth:`BookNetwork.logits`), ``y`` one-hot targets.
    """
    if name == "cross-entropy":
        return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / len(z)
    if name == "quadratic":
        return 0.5 * (torch.sigmoid(z) - y).pow(2).sum() / len(z)
    raise ValueError(f"`name` must be 'cross-entropy' or 'quadratic', got {name!r}")


def batches(rng, n, batch_size):
    """One epoch's mini-batch index arrays, as :func:`wdecay.fit` draws them from ``rng``."""
    order = rng.permutation(n)
    return [order[k:k + batch_size] for k in range(0, n, batch_size)]


def train(model, optimizer, recorder, X, y, *, epochs, batch_size, seed, cost_name="cross-entropy"):
    """Train ``model`` as :func:`wdecay.fit` trains the same network: its orders, its cost.

    ``X`` (n, d) and integer labels ``y`` are numpy arrays; ``recorder`` is the
    :func:`wdecay.torch.watch` recorder, told of each epoch's end.
    """
    n, k = len(X), model.sizes[-1]
    Xt = torch.from_numpy(X)
    Y = F.one_hot(torch.from_numpy(y), k).to(Xt.dtype)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for idx in batches(rng, n, batch_size):
            idx = torch.from_numpy(idx)
            optimizer.zero_grad()
            cost(model.logits(Xt[idx]), Y[idx], cost_name).backward()
            optimizer.step()
        recorder.epoch_end()


def parameter_groups(model, weight_decay):
    """Two groups: the weights with ``weight_decay``, the biases with none (as wdecay decays)."""
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if not name.endswith("weight")]
    return [{"params": weights, "weight_decay": weight_decay},
            {"params": biases, "weight_decay": 0.0}]
