"""Train K networks of the same sizes in one vectorized loop ("lockstep").

Weights are stacked, ``W[l]`` of shape (K, out, in). Each network may have its
own eta, lmbda, regularizer, initializer and initial seed; each does
exactly the steps :meth:`wdecay.Network.fit` would do with the same seeds, so
results agree with training the networks one by one up to rounding.

The forward and backward passes are :mod:`wdecay.passes` over the leading
network axis; the epoch loop is :func:`wdecay.loop.train_loop`. With a shared
mini-batch order the first layer's products for all K networks become two
matrix products with K * sizes[1] rows. The decay of every layer is the
regularizers' own, :class:`wdecay.regularizers.StackedDecay`: network k's
factor a_k (``Regularizer.factor``; 1 for a regularizer with a shrink, which
decays its network itself with ``Regularizer.decay``). The first layer's
weights are stored as W_k = s_k V_k with a scale s_k per network that takes
the factors a_k (:class:`wdecay.lazy_scale.LazyScale`), so the gradient step
is fused into the product (BLAS gemm with beta = 1): V <- V - X^T (D / s').
The scales are folded back into V at the end of every epoch, when monitors
look at the weights. :class:`Lockstep` is the numpy kernel of
:mod:`wdecay.driver`, which runs :func:`train_many`.
"""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.linalg.blas import dgemm, sgemm

from .. import config, passes
from ..config import NETWORK_DEFAULTS
from ..driver import Plan, drive, validate
from ..history import History
from ..lazy_scale import LazyScale
from ..network import Network
from ..numba_backend import NumbaEpoch
from ..optim import get_optimizer
from ..initializers import INITIALIZERS
from ..registry import declared
from ..registry import declared as declared_by
from ..regularizers import REGULARIZERS, StackedDecay, get_regularizer, make_regularizer

def config_keys():
    """The keys a config may give: :data:`~wdecay.config.NETWORK_DEFAULTS`'s and the settings
    every registered regularizer and initializer declares (read live: a class registered
    later is in them).

    Examples
    --------
    >>> config_keys()[:6]
    ('eta', 'lmbda', 'regularizer', 'initializer', 'init_seed', 'order_seed')
    """
    own = {**REGULARIZERS.settings(), **INITIALIZERS.settings()}
    return tuple(NETWORK_DEFAULTS) + tuple(k for k in own if k not in NETWORK_DEFAULTS)


def _initializer(c):
    """Config's initializer: as given, or the registered class of its name made with the
    settings it declares from the config; returns ``(initializer, the settings it took)``."""
    init = c["initializer"]
    if not (isinstance(init, str) and init.lower() in INITIALIZERS):
        return init, ()  # an instance or class (or an unknown name: Network says so)
    return (config.make("init", {**{k: v for k, v in c.items() if v is not None}, "init": init}),
            tuple(declared(INITIALIZERS.lookup(init))))


def _regularizer(c, given, i, taken_by_initializer=()):
    """Config ``i``'s regularizer: an instance as given, or the registered class of its name
    made by :func:`~wdecay.regularizers.make_regularizer` from the config's settings."""
    reg, extra = c["regularizer"], sorted(k for k in given if k not in NETWORK_DEFAULTS
                                          and c[k] is not None
                                          and k not in taken_by_initializer)
    if not isinstance(reg, str):  # an instance (or None: no penalty)
        if extra:
            raise ValueError(f"config {i}: {extra} are settings of a regularizer given by name; "
                             f"give them to the regularizer {reg!r} itself")
        return get_regularizer(reg)
    declared = REGULARIZERS.lookup(reg).hyperparameters
    taken = [k for k in extra if k not in declared]
    if declared and "lmbda" not in declared and c["lmbda"]:
        taken.insert(0, "lmbda")
    if taken:
        init = given.get("initializer", NETWORK_DEFAULTS["initializer"])  # its name, if one
        nor = (f"; nor does initializer {init!r} (its settings are "
               f"{sorted(declared_by(INITIALIZERS.lookup(init))) or 'none'})"
               if isinstance(init, str) and init.lower() in INITIALIZERS
               and set(taken) & set(INITIALIZERS.settings()) else "")
        raise ValueError(f"config {i}: regularizer {reg!r} takes no {', '.join(taken)}; its "
                         f"settings are {sorted(declared) or 'none'}{nor}")
    return make_regularizer(reg, {k: v for k, v in c.items() if v is not None})


def check_configs(configs):
    """The configs completed with :data:`~wdecay.config.NETWORK_DEFAULTS`, each regularizer made."""
    out = []
    keys = config_keys()
    for i, c in enumerate(configs):
        unknown = set(c) - set(keys)
        if unknown:
            raise ValueError(f"config {i}: unknown keys {sorted(unknown)}; allowed: {keys}")
        given, c = c, {**NETWORK_DEFAULTS, **c}
        config.check("eta", c["eta"], f"configs[{i}]['eta']")
        try:
            c["initializer"], taken = _initializer(c)
            c["regularizer"] = _regularizer(c, given, i, taken)
        except (TypeError, ValueError) as exc:  # a class's setting: say which config
            if str(exc).startswith(f"config {i}: "):
                raise
            raise type(exc)(f"config {i}: {exc}") from None
        out.append(c)
    if not out:
        raise ValueError("`configs` is empty: give at least one network's settings")
    return out


class Lockstep:
    """The stacked state of K networks and one vectorized SGD step for all of them.

    As a kernel of :mod:`wdecay.driver` (:meth:`prepare`, :meth:`run_epoch`) the
    networks' weights and biases become views of the stacked arrays.
    """

    def __init__(self, networks, dtype=np.float64):
        self.K = len(networks)
        self.sizes = networks[0].sizes
        self.cost, self.activation = networks[0].cost, networks[0].activation
        L = len(self.sizes) - 1
        self.V = [np.array([net.weights[l] for net in networks], dtype=dtype) for l in range(L)]
        self.B = [np.array([net.biases[l] for net in networks], dtype=dtype) for l in range(L)]
        self.lazy = LazyScale(self.V[0])  # the first layer's lazy scales
        self.scale = self.lazy.scale
        self.dtype = dtype
        self.gemm = {np.dtype(np.float64): dgemm, np.dtype(np.float32): sgemm}.get(np.dtype(dtype))

    @staticmethod
    def refusal(plan):
        """None if lockstep can run ``plan``, else why not, in one line."""
        if not plan.optimizer.nielsen:
            return (f"train_many's lockstep step runs plain SGD only, got optimizer="
                    f"{plan.optimizer!r}; train momentum or Adam networks one by one with "
                    "wdecay.fit")
        if plan.per_batch:
            return ("per-batch monitors (on_batch_end) need Network.fit; train_many supports "
                    "epoch-level monitors")
        return None

    @classmethod
    def prepare(cls, plan):
        """The stack of ``plan``'s networks, which then view its arrays."""
        stack = cls(plan.networks, dtype=plan.dtype)
        for k, net in enumerate(plan.networks):
            net.weights, net.biases = stack.views(k)
        stack.set_decay(np.asarray(plan.etas, dtype=plan.dtype), plan.regularizers, plan.n)
        stack._data, stack._m = (plan.X, plan.Y), plan.batch_size
        stack._separate, stack._quiet = plan.separate, plan.quiet
        return stack

    def ready(self, monitors):
        """Nothing to read from the monitors (epoch-level only)."""

    def run_epoch(self, orders, alive):
        """Every step of one epoch for all K networks (diverged ones too), then :meth:`fold`."""
        X, Y = self._data
        m = self._m
        quiet = np.errstate(all="ignore") if self._quiet else contextlib.nullcontext()
        with quiet:
            for start in range(0, len(X), m):
                idx = orders[:, start:start + m]
                if self._separate:
                    self.step_separate(X[idx], Y[idx])
                else:
                    self.step(X[idx[0]], Y[idx[0]])
        self.fold()

    def views(self, k):
        """Network k's weights and biases (valid after :meth:`fold`)."""
        return [v[k] for v in self.V], [b[k] for b in self.B]

    def fold(self):
        """Multiply the scales into V, so that V holds the weights."""
        self.lazy.fold()

    def set_decay(self, eta, regularizers, n):
        """Per-network decay settings for the steps: the regularizers' :class:`StackedDecay`.

        Its factors are the first layer's lazy scale factors; a network whose
        regularizer has a shrink keeps s_k = 1 and is decayed by the
        regularizer's own :meth:`~wdecay.regularizers.Regularizer.decay`.
        """
        self.eta = np.asarray(eta, dtype=self.dtype)
        self.decay = StackedDecay(regularizers, self.eta, n)
        self.lazy.factor = self.decay.factors
        self.n = n

    def _upper_layer(self, layer, delta, a):
        """Update layer >= 1 of every network: decay, then the gradient step."""
        V = self.V[layer]
        self.B[layer] -= delta.sum(axis=1)
        grad = np.matmul(delta.transpose(0, 2, 1), a)
        self.decay(V)
        V -= grad

    def _first_scale(self):
        s0 = self.lazy.step()
        self.decay(self.V[0], factors=False)  # the factors are in s0
        return s0

    def _shared_first_layer(self, layer, delta, a):
        if layer > 0:
            return self._upper_layer(layer, delta, a)
        # layer 0: fused V0^T <- V0^T - X^T (D / s'), one gemm for all networks
        K, m, h0 = delta.shape
        self.B[0] -= delta.sum(axis=1)
        s0 = self._first_scale()
        d_flat = np.empty((m, K, h0), dtype=self.dtype)
        np.divide(delta.transpose(1, 0, 2), s0[None, :, None], out=d_flat)
        d_flat = d_flat.reshape(m, K * h0)
        V0T = self.V[0].reshape(K * h0, -1).T
        if self.gemm is not None:
            self.gemm(-1.0, a.T, d_flat.T, 1.0, V0T, trans_b=1, overwrite_c=1)
        else:
            V0T -= a.T @ d_flat

    def _separate_first_layer(self, layer, delta, a):
        if layer > 0:
            return self._upper_layer(layer, delta, a)
        self.B[0] -= delta.sum(axis=1)
        s0 = self._first_scale()
        self.V[0] -= np.matmul((delta / s0[:, None, None]).transpose(0, 2, 1), a)

    def _upper(self, a1, z0, Xb, Yb, m, on_layer):
        """Layers above the first (forward), then the backward pass with updates."""
        L = len(self.V)
        zs, acts = [z0] + [None] * (L - 1), [Xb, a1] + [None] * (L - 1)
        passes.forward(self.V, self.B, self.activation, self.cost, a1, zs, acts, start=1)
        passes.backward(self.V, self.activation, self.cost, zs, acts, Yb,
                        scale=(self.eta / m)[:, None, None], on_layer=on_layer)

    def step(self, Xb, Yb):
        """One step for all K networks on the shared mini-batch ``Xb`` (m, d), ``Yb`` (m, k).

        Uses the settings of :meth:`set_decay`. Only the first layer keeps a
        lazy scale; the small layers above it are decayed directly.
        """
        K, m, L = self.K, len(Xb), len(self.V)
        h0 = self.sizes[1]
        # layer 0 for all networks at once: (m, d) @ (d, K*h0); elementwise work on
        # the contiguous (m, K*h0) layout, per-network work on its (K, m, h0) view
        z = Xb @ self.V[0].reshape(K * h0, -1).T
        z3 = z.reshape(m, K, h0)
        z3 *= self.scale[None, :, None]
        z3 += self.B[0][None]
        z0 = z3.transpose(1, 0, 2)
        if L == 1:
            a1 = self.cost.output(z0)
        else:
            a1 = self.activation.fn(z, out=z).reshape(m, K, h0).transpose(1, 0, 2)
        self._upper(a1, z0, Xb, Yb[None], m, self._shared_first_layer)

    def step_separate(self, Xs, Ys):
        """One step where network k trains on its own mini-batch ``Xs[k]`` (K, m, d).

        Every layer uses batched matrix products; the first layer's scale stays
        lazy as in :meth:`step`.
        """
        m, L = Xs.shape[1], len(self.V)
        z = np.matmul(Xs, self.V[0].transpose(0, 2, 1))
        z *= self.scale[:, None, None]
        z += self.B[0][:, None, :]
        a1 = self.cost.output(z, out=z) if L == 1 else self.activation.fn(z, out=z)
        self._upper(a1, z, Xs, Ys, m, self._separate_first_layer)


def train_many(X, y, configs, *, sizes, epochs, batch_size, cost="cross-entropy",
               activation="sigmoid", seed=None, evaluation_data=None, monitors=None,
               on_divergence="raise", dtype=np.float64, optimizer=None, backend="auto"):
    """Train one network per config in lockstep; return ``(networks, histories)``.

    Parameters
    ----------
    X, y : training data, as for :meth:`wdecay.Network.fit`
    configs : list of dict
        Per network: ``eta``, ``lmbda``, ``regularizer`` (a registered name such
        as 'l2', 'l1', 'none', made by :func:`wdecay.regularizers.make_regularizer`
        from the config's settings: ``lmbda``, or the settings a registered
        regularizer declares, such as an elastic net's ``l1`` and ``l2``
        (:func:`config_keys`); or any :class:`wdecay.regularizers.Regularizer`
        instance, whose own settings are used),
        ``initializer`` ('default', 'large', a registered name made with the settings
        it declares from the config, or an instance), ``init_seed`` (default 0, as the
        sweep grid's: every network starts from the same seed's weights) and, optionally,
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
        copy of the training inputs (none when ``X`` already has that dtype).
    optimizer : None, 'sgd' or SGD()
        Only Nielsen's SGD trains in lockstep; other optimizers are refused
        (train them with :func:`wdecay.fit`).
    backend : 'auto', 'numpy' or 'numba'
        'numpy' trains the K networks in lockstep. 'numba' runs each network's
        epoch in the compiled kernel of :mod:`wdecay.numba_backend`, one network
        after another with the same orders (one prepared kernel shared by all):
        with numba installed one-by-one compiled epochs are as fast as lockstep
        or faster (``benchmarks/sweep_speed.py``). 'auto' (the default) picks
        'numba' when it is installed and every network qualifies (sigmoid,
        L2 or no decay), else 'numpy'; an explicit 'numba' that cannot run
        raises and says why.

    Returns
    -------
    networks : list of Network
    histories : list of History
    """
    configs = check_configs(configs)
    if monitors is not None and not callable(monitors):
        raise TypeError(f"`monitors` must be a function k -> list of Monitors for network k, "
                        f"e.g. monitors=lambda k: [WeightNorms()], got a "
                        f"{type(monitors).__name__}: every network needs monitors of its own")
    if on_divergence not in ("raise", "mark"):
        raise ValueError(f"`on_divergence` must be 'raise' or 'mark', got {on_divergence!r}")
    separate = any(c["order_seed"] is not None for c in configs)
    if separate and any(c["order_seed"] is None for c in configs):
        raise ValueError("give every config an 'order_seed' (own mini-batch orders) or none "
                         "(one shared order from `seed`)")
    networks = [Network(sizes, cost=cost, activation=activation, initializer=c["initializer"],
                        seed=c["init_seed"], dtype=dtype) for c in configs]
    X, labels, Y, evaluation = validate(networks[0], X, y, epochs=epochs, batch_size=batch_size,
                                        evaluation_data=evaluation_data)
    etas = [float(c["eta"]) for c in configs]  # as fit gets them; lockstep rounds to dtype
    plan = Plan(networks, X, Y, batch_size=batch_size, etas=etas,
                regularizers=[c["regularizer"] for c in configs],
                optimizer=get_optimizer(optimizer), separate=separate,
                quiet=on_divergence == "mark")
    rngs = ([np.random.default_rng(c["order_seed"]) for c in configs] if separate
            else [np.random.default_rng(seed)])
    histories = drive(plan, backend=backend, kernels={"numpy": Lockstep, "numba": NumbaEpoch},
                      what="sweep", epochs=epochs, labels=labels, evaluation=evaluation,
                      monitors=[monitors(k) if monitors else [] for k in range(len(configs))],
                      histories=[History() for _ in configs], rngs=rngs,
                      state_etas=[float(e) for e in np.asarray(etas, dtype=dtype)],
                      on_divergence=on_divergence)
    return networks, histories
