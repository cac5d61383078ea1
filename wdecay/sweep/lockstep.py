"""Train K networks of the same sizes in one vectorized loop ("lockstep").

Weights are stacked, ``W[l]`` of shape (K, out, in). Each network may have its
own eta, lmbda, regularizer kind, initializer and initial seed; each does
exactly the steps :meth:`wdecay.Network.fit` would do with the same seeds, so
results agree with training the networks one by one up to rounding.

With a shared mini-batch order the first layer's products for all K networks
become two matrix products with K * sizes[1] rows. The weights are stored as
W_k = s_k V_k with a scale s_k per network and layer, so L2 decay is a scalar
update and the gradient step is fused into the product (BLAS gemm with
beta = 1): V <- V - X^T (D / s'); this is done for the first layer, whose
weights are most of the data moved per step. The scales are folded back into V
at the end of every epoch, when monitors look at the weights.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
from scipy.linalg.blas import dgemm, sgemm

from .._threads import blas_threads
from .._validation import check_features, check_scalar, check_targets
from ..history import History
from ..monitors.base import MonitorList, TrainingState
from ..network import Network
from ..regularizers import get_regularizer
from ..training import TRAINING_BLAS_THREADS, TrainingDivergedError, _check_evaluation, \
    _with_default_monitors

CONFIG_KEYS = ("eta", "lmbda", "regularizer", "initializer", "init_seed", "order_seed")


def _configs(configs):
    out = []
    for i, c in enumerate(configs):
        unknown = set(c) - set(CONFIG_KEYS)
        if unknown:
            raise ValueError(f"config {i}: unknown keys {sorted(unknown)}; allowed: {CONFIG_KEYS}")
        c = {"eta": 0.1, "lmbda": 0.0, "regularizer": "l2", "initializer": "default",
             "init_seed": None, "order_seed": None, **c}
        check_scalar(c["eta"], f"configs[{i}]['eta']", low=0, inclusive=False)
        c["regularizer"] = get_regularizer(c["regularizer"], c["lmbda"])
        out.append(c)
    if not out:
        raise ValueError("`configs` is empty: give at least one network's settings")
    return out


class Lockstep:
    """The stacked state of K networks and one vectorized SGD step for all of them."""

    def __init__(self, networks, dtype=np.float64):
        self.K = len(networks)
        self.sizes = networks[0].sizes
        self.cost, self.activation = networks[0].cost, networks[0].activation
        L = len(self.sizes) - 1
        self.V = [np.array([net.weights[l] for net in networks], dtype=dtype) for l in range(L)]
        self.B = [np.array([net.biases[l] for net in networks], dtype=dtype) for l in range(L)]
        self.scale = np.ones(self.K, dtype=dtype)  # the first layer's lazy scales
        self.dtype = dtype
        self.gemm = {np.dtype(np.float64): dgemm, np.dtype(np.float32): sgemm}.get(np.dtype(dtype))

    def views(self, k):
        """Network k's weights and biases (valid after :meth:`fold`)."""
        return [v[k] for v in self.V], [b[k] for b in self.B]

    def fold(self):
        """Multiply the scales into V, so that V holds the weights."""
        if np.any(self.scale != 1.0):
            self.V[0] *= self.scale[:, None, None]
            self.scale[:] = 1.0

    def step(self, Xb, Yb, eta, decay, l1, l1_mask):
        """One step for all K networks on the shared mini-batch ``Xb`` (m, d), ``Yb`` (m, k).

        ``eta`` (K,), ``decay`` (K,) the L2 factor 1 - eta lmbda / n (1 if not L2),
        ``l1`` (K,) eta lmbda / n for L1 networks (0 otherwise), ``l1_mask`` bool
        (K,) or None if no network uses L1. Only the first layer keeps a lazy
        scale; the small layers above it are decayed directly.
        """
        K, m, L = self.K, len(Xb), len(self.V)
        V, B, s0 = self.V, self.B, self.scale
        h0 = self.sizes[1]
        # layer 0 for all networks at once: (m, d) @ (d, K*h0); elementwise work on
        # the contiguous (m, K*h0) layout, per-network work on its (K, m, h0) view
        z = Xb @ V[0].reshape(K * h0, -1).T
        z3 = z.reshape(m, K, h0)
        z3 *= s0[None, :, None]
        z3 += B[0][None]
        if L == 1:
            acts = [self.cost.output(z3.transpose(1, 0, 2))]
        else:
            acts = [self.activation.fn(z, out=z).reshape(m, K, h0).transpose(1, 0, 2)]
        for l in range(1, L):
            z = np.matmul(acts[-1], V[l].transpose(0, 2, 1))
            z += B[l][:, None, :]
            acts.append(self.cost.output(z, out=z) if l == L - 1 else self.activation.fn(z, out=z))
        delta = self.cost.delta(None, acts[-1], Yb[None])
        delta *= (eta / m)[:, None, None]
        for l in range(L - 1, 0, -1):
            below = np.matmul(delta, V[l])
            self.activation.multiply_prime(below, acts[l - 1])
            B[l] -= delta.sum(axis=1)
            grad = np.matmul(delta.transpose(0, 2, 1), acts[l - 1])
            V[l] *= decay[:, None, None]
            if l1_mask is not None:
                V[l][l1_mask] -= l1[l1_mask, None, None] * np.sign(V[l][l1_mask])
            V[l] -= grad
            delta = below
        # layer 0: fused V0^T <- V0^T - X^T (D / s'), one gemm for all networks
        B[0] -= delta.sum(axis=1)
        s0 *= decay
        if l1_mask is not None:
            V[0][l1_mask] -= (l1 / s0)[l1_mask, None, None] * np.sign(V[0][l1_mask])
        d_flat = np.empty((m, K, h0), dtype=self.dtype)
        np.divide(delta.transpose(1, 0, 2), s0[None, :, None], out=d_flat)
        d_flat = d_flat.reshape(m, K * h0)
        V0T = V[0].reshape(K * h0, -1).T
        if self.gemm is not None:
            self.gemm(-1.0, Xb.T, d_flat.T, 1.0, V0T, trans_b=1, overwrite_c=1)
        else:
            V0T -= Xb.T @ d_flat

    def step_separate(self, Xs, Ys, eta, decay, l1, l1_mask):
        """One step where network k trains on its own mini-batch ``Xs[k]`` (K, m, d).

        Every layer uses batched matrix products; the first layer's scale stays
        lazy as in :meth:`step`.
        """
        m, L = Xs.shape[1], len(self.V)
        V, B, s0 = self.V, self.B, self.scale
        acts = [Xs]
        for l in range(L):
            z = np.matmul(acts[-1], V[l].transpose(0, 2, 1))
            if l == 0:
                z *= s0[:, None, None]
            z += B[l][:, None, :]
            acts.append(self.cost.output(z, out=z) if l == L - 1 else self.activation.fn(z, out=z))
        delta = self.cost.delta(None, acts[-1], Ys)
        delta *= (eta / m)[:, None, None]
        for l in range(L - 1, -1, -1):
            below = None
            if l > 0:
                below = np.matmul(delta, V[l])
                self.activation.multiply_prime(below, acts[l])
            B[l] -= delta.sum(axis=1)
            if l == 0:
                s0 *= decay
                scale = s0
            else:
                V[l] *= decay[:, None, None]
                scale = np.ones_like(decay)
            if l1_mask is not None:
                V[l][l1_mask] -= (l1 / scale)[l1_mask, None, None] * np.sign(V[l][l1_mask])
            V[l] -= np.matmul((delta / scale[:, None, None]).transpose(0, 2, 1), acts[l])
            delta = below


def train_many(X, y, configs, *, sizes, epochs, batch_size, cost="cross-entropy",
               activation="sigmoid", seed=None, evaluation_data=None, monitors=None,
               on_divergence="raise", dtype=np.float64):
    """Train one network per config in lockstep; return ``(networks, histories)``.

    Parameters
    ----------
    X, y : training data, as for :meth:`wdecay.Network.fit`
    configs : list of dict
        Per network: ``eta``, ``lmbda``, ``regularizer`` ('l2', 'l1', 'none'),
        ``initializer`` ('default', 'large'), ``init_seed`` and, optionally,
        ``order_seed``: given for every network, each draws its own mini-batch
        order from it (batched products instead of one shared product).
    sizes, epochs, batch_size, cost, activation
        Shared by all networks.
    seed : int or None
        Seed of the mini-batch order shared by all networks (when the configs
        give no ``order_seed``): network k ends
        exactly where ``Network(sizes, cost, initializer_k, activation,
        seed=init_seed_k).fit(X, y, ..., eta=eta_k, regularizer=..., seed=seed)``
        does, up to rounding.
    evaluation_data : (X_eval, y_eval), optional
    monitors : callable k -> list of Monitor, optional
        Epoch-level monitors for network k (per-batch monitors need ``Network.fit``).
    on_divergence : 'raise' or 'mark'
        On NaN or inf weights, raise ``TrainingDivergedError`` naming the network,
        or record the epoch in that network's history under ``diverged_epoch``
        and keep training the others.
    dtype : numpy float dtype
        ``np.float64`` (default) or ``np.float32`` for the weights and the one
        copy of the training inputs.

    Returns
    -------
    networks : list of Network
    histories : list of History
    """
    configs = _configs(configs)
    check_scalar(epochs, "epochs", kind=numbers.Integral, low=0)
    check_scalar(batch_size, "batch_size", kind=numbers.Integral, low=1)
    if on_divergence not in ("raise", "mark"):
        raise ValueError(f"`on_divergence` must be 'raise' or 'mark', got {on_divergence!r}")
    networks = [Network(sizes, cost=cost, activation=activation, initializer=c["initializer"],
                        seed=c["init_seed"], dtype=dtype) for c in configs]
    X = check_features(X, "X", networks[0].sizes[0], dtype=dtype)
    labels, Y = check_targets(y, len(X), networks[0].sizes[-1], dtype=dtype)
    evaluation = _check_evaluation(evaluation_data, networks[0])
    n, m = len(X), int(batch_size)
    stack = Lockstep(networks, dtype=dtype)
    for k, net in enumerate(networks):  # the networks now view the stacked arrays
        net.weights, net.biases = stack.views(k)
    eta = np.array([c["eta"] for c in configs], dtype=dtype)
    regs = [c["regularizer"] for c in configs]
    decay = np.array([1 - e * r.lmbda / n if r.name == "l2" else 1.0 for e, r in zip(eta, regs)],
                     dtype=dtype)
    l1_mask = np.array([r.name == "l1" for r in regs])
    l1 = np.where(l1_mask, eta * np.array([r.lmbda for r in regs]) / n, 0.0).astype(dtype)
    has_l1 = bool(l1_mask.any())
    histories, lists, states = [], [], []
    for k, net in enumerate(networks):
        mons = MonitorList(_with_default_monitors(monitors(k) if monitors else [], evaluation))
        if mons.per_batch:
            raise ValueError("per-batch monitors (on_batch_end) need Network.fit; "
                             "train_many supports epoch-level monitors")
        h = History()
        histories.append(h)
        lists.append(mons)
        states.append(TrainingState(net, eta=float(eta[k]), regularizer=regs[k], batch_size=m, n=n,
                                    history=h, train_data=(X, labels), evaluation_data=evaluation))
        states[-1].last_epoch = int(epochs)
    separate = any(c["order_seed"] is not None for c in configs)
    if separate and any(c["order_seed"] is None for c in configs):
        raise ValueError("give every config an 'order_seed' (own mini-batch orders) or none "
                         "(one shared order from `seed`)")
    rngs = ([np.random.default_rng(c["order_seed"]) for c in configs] if separate
            else [np.random.default_rng(seed)])
    alive = np.ones(len(networks), bool)
    with blas_threads(TRAINING_BLAS_THREADS):
        _each(lists, states, "on_train_begin")
        _record(lists, states, histories, 0, alive)
        for epoch in range(1, int(epochs) + 1):
            for st in states:
                st.epoch = epoch
            _each(lists, states, "on_epoch_begin", alive)
            orders = np.array([rng.permutation(n) for rng in rngs])
            mask = l1_mask if has_l1 else None
            with np.errstate(all="ignore") if on_divergence == "mark" else contextlib.nullcontext():
                for start in range(0, n, m):
                    idx = orders[:, start:start + m]
                    if separate:
                        stack.step_separate(X[idx], Y[idx], eta, decay, l1, mask)
                    else:
                        stack.step(X[idx[0]], Y[idx[0]], eta, decay, l1, mask)
            stack.fold()
            _check(networks, epoch, eta, histories, alive, on_divergence)
            _record(lists, states, histories, epoch, alive)
        _each(lists, states, "on_train_end", alive)
    return networks, histories


def _each(lists, states, hook, alive=None):
    for k, (mons, st) in enumerate(zip(lists, states)):
        if alive is None or alive[k]:
            mons.call(hook, st)


def _record(lists, states, histories, epoch, alive):
    for k, (mons, st, h) in enumerate(zip(lists, states, histories)):
        if alive[k]:
            h.append({"epoch": epoch, **mons.call("on_epoch_end", st)})


def _check(networks, epoch, eta, histories, alive, on_divergence):
    for k, net in enumerate(networks):
        if alive[k] and not all(np.isfinite(p).all() for p in net.parameters()):
            if on_divergence == "raise":
                raise TrainingDivergedError(
                    f"network {k} diverged in epoch {epoch}: its parameters became NaN or inf; "
                    f"try a smaller eta (got eta={eta[k]})", histories[k])
            alive[k] = False
            histories[k].append({"epoch": epoch, "diverged_epoch": epoch})
