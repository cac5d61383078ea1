"""The one forward and backward pass of wdecay, vectorized over rows and networks.

Layer l maps a -> f(z), z = a W_l^T + b_l, with f the hidden activation below
the last layer and the cost's output function at the last. Arrays are batches
of rows, shape (m, units), or stacks of K networks with a leading axis,
weights (K, out, in), biases (K, out) and activations (K, m, units):
``np.matmul`` broadcasts over that axis, so the same code serves one network
(:class:`wdecay.Network`, the training step, evaluation, ``compat.network2``)
and K networks in lockstep (:mod:`wdecay.sweep.lockstep`).

Every function can write into preallocated buffers (``out`` lists), so the
training step allocates nothing.

Examples
--------
>>> from wdecay.activations import Sigmoid
>>> from wdecay.costs import CrossEntropyCost
>>> W, b = [np.zeros((2, 3))], [np.zeros(2)]
>>> zs, acts = forward(W, b, Sigmoid(), CrossEntropyCost(), np.ones((4, 3)))
>>> acts[-1][0]
array([0.5, 0.5])
>>> gw, gb = backward(W, Sigmoid(), CrossEntropyCost(), zs, acts, np.zeros((4, 2)))
>>> gw[0][0]        # sum over the 4 rows of (a - y) x = 4 * 0.5 * 1
array([2., 2., 2.])
"""

from __future__ import annotations

import numpy as np


def _bias(b, ndim):
    """``b`` shaped to broadcast over the rows: (out,) or (K, 1, out)."""
    return b if ndim == 2 else b[:, None, :]


def forward(weights, biases, hidden, cost, X, zs=None, acts=None, start=0):
    """Weighted inputs and activations of every layer for the rows of ``X``.

    Parameters
    ----------
    weights, biases : lists of arrays, (out, in) and (out,), or stacked (K, out, in), (K, out)
    hidden : Activation
        The activation of every layer but the last.
    cost : Cost
        Its ``output`` is the last layer's activation.
    X : array (m, in) or (K, m, in)
        Rows; with ``start`` > 0, the input of layer ``start``.
    zs, acts : lists of buffers, optional
        ``zs[l]`` receives z of layer l, ``acts[l + 1]`` its activation
        (``acts[0]`` is X itself). Default: new arrays.
    start : int
        First layer to compute; earlier entries of the returned lists are None
        unless buffers were given.

    Returns
    -------
    zs, acts : lists
        ``zs[l]`` = z of layer l; ``acts[0]`` = X, ``acts[l + 1]`` = f(zs[l]).
    """
    L = len(weights)
    zs = [None] * L if zs is None else zs
    acts = [None] * (L + 1) if acts is None else acts
    acts[start] = X
    a = X
    for layer in range(start, L):
        w = weights[layer]
        z = np.matmul(a, w.swapaxes(-1, -2), out=zs[layer])
        z += _bias(biases[layer], z.ndim)
        fn = cost.output if layer == L - 1 else hidden.fn
        a = fn(z, out=acts[layer + 1])
        zs[layer], acts[layer + 1] = z, a
    return zs, acts


def backward(weights, hidden, cost, zs, acts, Y, grad_w=None, grad_b=None, scale=None,
             deltas=None, on_layer=None):
    """Gradients of the summed cost sum_x C_x (times ``scale``), top layer first.

    Parameters
    ----------
    weights : list of arrays, as for :func:`forward`
    hidden, cost : the activation and the cost
    zs, acts : the lists returned by :func:`forward`
    Y : array (m, out) or broadcastable to (K, m, out)
        Targets.
    grad_w, grad_b : lists of buffers, optional
        Receive dC/dW_l = delta_l^T a_l and dC/db_l = sum_rows delta_l, times
        ``scale``. Default: new arrays.
    scale : float or array (K, 1, 1), optional
        Multiplies the output delta once (the SGD step uses eta / m, so the
        gradients come out as the step to subtract).
    deltas : list of buffers, optional
        ``deltas[l]`` receives the (scaled) delta of layer l.
    on_layer : callable ``(layer, delta, a)``, optional
        Called instead of computing layer's gradients, after the delta of the
        layer below was computed from ``weights[layer]``, so it may update that
        layer's parameters in place (the fused training step does).

    Returns
    -------
    grad_w, grad_b : lists (None entries where ``on_layer`` took over)
    """
    L = len(weights)
    grad_w = [None] * L if grad_w is None else grad_w
    grad_b = [None] * L if grad_b is None else grad_b
    out = None if deltas is None else deltas[L - 1]
    delta = cost.delta(zs[L - 1], acts[L], Y, out=out)
    if scale is not None:
        delta *= scale
    for layer in range(L - 1, -1, -1):
        a = acts[layer]
        below = None
        if layer > 0:
            below = np.matmul(delta, weights[layer],
                              out=None if deltas is None else deltas[layer - 1])
        if on_layer is None:
            grad_w[layer] = np.matmul(delta.swapaxes(-1, -2), a, out=grad_w[layer])
            grad_b[layer] = np.add.reduce(delta, axis=-2, out=grad_b[layer])
        else:
            on_layer(layer, delta, a)
        if below is not None:
            hidden.multiply_prime(below, a)
            delta = below
    return grad_w, grad_b
