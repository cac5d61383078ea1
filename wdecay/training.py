"""Mini-batch training of one network: the step and :func:`fit`.

For a mini-batch B of a training set of size n, Nielsen's SGD step is::

    w <- a w + shrink - (eta / |B|) sum_{x in B} dC_x/dw    (a, shrink from the regularizer)
    b <- b - (eta / |B|) sum_{x in B} dC_x/db               (biases are never decayed)

with a = 1 - eta lmbda / n for L2 (1 otherwise) and shrink = -eta (lmbda / n)
sign(w) for L1. Each epoch draws a fresh permutation of indices; mini-batches
are consecutive slices of it, the last one shorter if |B| does not divide n.
The data set is never copied: each step gathers its rows into preallocated
buffers.

Three update paths, one forward/backward pass (:mod:`wdecay.passes`, written out
once in :class:`Step` on cached views):

- **fused** (the default for SGD with L2 or no decay, no per-batch monitor):
  each layer's decay and gradient step is one BLAS gemm in place on the
  transposed weights, W^T <- a W^T - A^T Delta (beta = a, ``overwrite_c``).
  The summation order differs from computing the gradient first, so results
  agree with the separate path to about 1e-13 relative, not bit for bit;
- **separate** (a regularizer with a shrink such as L1, or per-batch monitors):
  gradient first, then w <- a w, shrink, w -= eta g, exposing the decay part
  and the gradient part of the step to monitors;
- **optimizer** (momentum, Adam, coupled decay; :mod:`wdecay.optim`).

Every decay that is not a gemm's ``beta`` is the regularizer's own
:meth:`~wdecay.regularizers.Regularizer.decay`. :class:`Step` is the numpy
kernel of :mod:`wdecay.driver`, which runs :func:`fit`.
"""

from __future__ import annotations


import numpy as np
from scipy.linalg.blas import dgemm, dgemv, sgemm, sgemv

from . import config
from . import transforms as T
from .driver import Plan, drive, validate
from .history import History
from .loop import TRAINING_BLAS_THREADS, TrainingDivergedError
from .monitors.base import StepParts, read_only
from .numba_backend import NumbaEpoch
from .optim import get_optimizer
from .regularizers import Regularizer, get_regularizer

__all__ = ["fit", "Step", "TrainingDivergedError", "TRAINING_BLAS_THREADS"]

GEMM = {np.dtype(np.float64): dgemm, np.dtype(np.float32): sgemm}
GEMV = {np.dtype(np.float64): dgemv, np.dtype(np.float32): sgemv}


class Step:
    """One vectorized training step with preallocated buffers for batches up to ``batch_size``.

    Calling the step with ``X``, ``Y`` and ``idx`` trains on those rows;
    :meth:`load_batch` and :meth:`run` do the same on rows placed in the buffers.

    Parameters
    ----------
    network : Network
        Updated in place.
    batch_size : int
        The largest mini-batch.
    eta : float
    n : int
        Training-set size (of the penalty).
    regularizer : Regularizer
    optimizer : Optimizer, optional
        Default: Nielsen's SGD.
    reset_optimizer : bool
        Start the optimizer's state afresh (default); False continues the state
        it holds, which must have been sized for this network.
    record : bool
        Keep each step's parts in the attribute ``parts`` (a
        :class:`wdecay.monitors.StepParts`) for per-batch monitors.
    """

    def __init__(self, network, batch_size, *, eta, n, regularizer, optimizer=None,
                 record=False, reset_optimizer=True):
        self.net = network
        self.eta, self.n, self.regularizer = eta, n, regularizer
        self.optimizer = get_optimizer(optimizer)
        # only decoupled decay (Nielsen's SGD, AdamW) multiplies by the factor; coupled
        # optimizers take the penalty's gradient instead, so its range does not apply
        self.factor = regularizer.factor(eta, n) if self.optimizer.decoupled else None
        # that factor, checked once, to the regularizer's decay (a class's own decay as it is)
        self._decay_factor = ({"factor": self.factor} if self.factor is not None
                              and type(regularizer).decay is Regularizer.decay else {})
        self.record = record
        self.keep_weights_before = True
        sizes = network.sizes
        dt = network.weights[0].dtype
        self._full = [np.empty((batch_size, s), dt) for s in sizes]  # inputs, then activations
        self._z = [np.empty((batch_size, s), dt) for s in sizes[1:]]
        self._delta = [np.empty((batch_size, s), dt) for s in sizes[1:]]
        self._targets = np.empty((batch_size, sizes[-1]), dt)
        self.grad_w = [np.empty_like(w) for w in network.weights]
        self.grad_b = [np.empty_like(b) for b in network.biases]
        self._views = {}
        self._plans = {}
        gemm = GEMM.get(dt)
        self.nielsen = self.optimizer.nielsen
        self.fused = (self.nielsen and not record and not regularizer.has_shrink
                      and gemm is not None
                      and all(w.flags.c_contiguous for w in network.weights))
        self._ones = np.ones(batch_size, dt)
        if self.fused:
            self._gemm, self._gemv = gemm, GEMV[dt]
        if not self.nielsen:
            self.chain = self.optimizer.transform(eta, regularizer, n)
            self._decay_transform, decoupled = self.chain.decay
            # a decoupled decay is applied in place (Nielsen's rounding), then the rest
            self._rest = (T.chain(*self.chain.transforms[:-1]) if decoupled else self.chain)
            params = self._params = network.parameters()
            self._grads = [*self.grad_w, *self.grad_b]
            if reset_optimizer:
                self.optimizer.start(self._rest, params)
            else:
                self.optimizer.continue_on(self._rest, params)
        if record:
            self._before = [np.empty_like(w) for w in network.weights]
            self._d = [np.empty_like(w) for w in network.weights]
            self._u = [np.empty_like(w) for w in network.weights]
            if not self.nielsen:  # where the chain's split can write the weights' shares
                self._d_into = [*self._d, *[None] * (len(self._params) - len(self._d))]
            grad_scale = eta if self.nielsen else 1.0
            self._before_views = tuple(read_only(w) for w in self._before)
            self.parts = StepParts(
                weights_before=self._before_views,
                grads=(tuple(read_only(g) for g in self.grad_w),
                       tuple(read_only(g) for g in self.grad_b)), grad_scale=grad_scale,
                decay_update=tuple(read_only(d) for d in self._d),
                gradient_update=None if self.nielsen else tuple(read_only(u) for u in self._u))

    def _buffers(self, m):
        """Row views of the buffers for a batch of ``m`` rows (cached per size)."""
        views = self._views.get(m)
        if views is None:
            views = ([a[:m] for a in self._full], [z[:m] for z in self._z],
                     [d[:m] for d in self._delta], self._targets[:m])
            self._views[m] = views
        return views

    def __call__(self, X, Y, idx):
        acts, _, _, targets = self._buffers(len(idx))
        if type(X) is np.ndarray and type(Y) is np.ndarray:  # the methods skip np.take's wrapper
            X.take(idx, 0, acts[0], "clip")
            Y.take(idx, 0, targets, "clip")
        else:
            np.take(X, idx, axis=0, out=acts[0], mode="clip")
            np.take(Y, idx, axis=0, out=targets, mode="clip")
        self.run(len(idx))

    def load_batch(self, m):
        """The input and target buffers (m rows) to fill before calling :meth:`run`."""
        acts, _, _, targets = self._buffers(m)
        return acts[0], targets

    def run(self, m):
        """The step on the ``m`` rows already in the input and target buffers."""
        if self.fused:
            self._run_fused(m)
            return
        self._gradients(m)
        net = self.net
        if self.record and self.keep_weights_before:
            for buf, w in zip(self._before, net.weights):
                np.copyto(buf, w)
        if self.nielsen:
            self._nielsen_update()
        else:
            self._optimizer_update()
        if self.record:
            self.parts.renew(self._before_views if self.keep_weights_before else None)

    def _plan(self, m):
        """Per-layer views for a step on ``m`` rows, top layer first in the backward part,
        and the output delta's scale (cached per size)."""
        plan = self._plans.get(m)
        if plan is None:
            acts, zs, deltas, targets = self._buffers(m)
            net = self.net
            weights, biases, wT = net.weights, net.biases, [w.T for w in net.weights]
            L = len(weights)
            fns = [net.activation.fn] * (L - 1) + [net.cost.output]
            scale = self.eta / m if self.nielsen else 1.0 / m
            plan = ([(acts[i], wT[i], zs[i], biases[i], fns[i], acts[i + 1]) for i in range(L)],
                    [(weights[i], deltas[i], acts[i], acts[i].T, deltas[i].T, wT[i], biases[i],
                      self.grad_w[i], self.grad_b[i], deltas[i - 1] if i else None)
                     for i in range(L - 1, -1, -1)],
                    zs[-1], acts[-1], targets, deltas[-1], self._ones[:m], scale)
            self._plans[m] = plan
        return plan

    def _forward(self, plan):
        """:func:`passes.forward` and the output delta times the plan's scale, into the
        buffers (the same operations in the same order: the same bits)."""
        forward, _, z_out, a_out, targets, delta, _, scale = plan
        matmul = np.matmul
        for a, wT, z, b, fn, a_next in forward:
            matmul(a, wT, out=z)
            z += b
            out = fn(z, out=a_next)
            if out is not a_next:  # an activation that did not write into ``out``
                np.copyto(a_next, out)
        out = self.net.cost.delta(z_out, a_out, targets, out=delta)
        if out is not delta:
            np.copyto(delta, out)
        delta *= scale

    def _gradients(self, m):
        """:func:`passes.backward`'s gradients (times eta / m for Nielsen's update, else 1 / m)
        into ``grad_w`` and ``grad_b``, written out as :meth:`_run_fused` is."""
        plan = self._plan(m)
        self._forward(plan)
        matmul, add_reduce = np.matmul, np.add.reduce
        prime = self.net.activation.multiply_prime
        for w, delta, a, aT, deltaT, wT, b, gw, gb, below in plan[1]:
            if below is not None:
                matmul(delta, w, out=below)
            matmul(deltaT, a, out=gw)
            add_reduce(delta, -2, None, gb)  # axis -2, dtype None, out: sum over the rows
            if below is not None:
                prime(below, a)

    def _run_fused(self, m):
        """:func:`passes.forward` and :func:`passes.backward` for one network, with the update
        of each layer by one gemm in place (W^T <- a W^T - A^T Delta, beta = a) as soon as
        the delta below it is known, and of its bias by one gemv (b <- b - Delta^T 1);
        Delta holds (eta/m) dC_x/dz.

        The step writes the pass out (here and in :meth:`_gradients`, on one plan of
        views) instead of calling :mod:`wdecay.passes`: calling passes with ``on_layer``
        was 1.05x-1.09x slower at batch 10 (two runs) (``benchmarks/fused_inline.py``),
        and tests/test_training.py holds both to the per-example reference at 1e-12.
        The BLAS wrappers take their arguments by position (gemm: beta, c, trans_a,
        trans_b, overwrite_c; gemv: beta, y, offx, incx, offy, incy, trans,
        overwrite_y), which parses faster than keywords."""
        plan = self._plan(m)
        self._forward(plan)
        gemm, gemv, factor, ones = self._gemm, self._gemv, self.factor, plan[6]
        prime, matmul = self.net.activation.multiply_prime, np.matmul
        for w, delta, a, aT, deltaT, wT, b, gw, gb, below in plan[1]:
            if below is not None:
                matmul(delta, w, out=below)
            out = gemm(-1.0, aT, deltaT, factor, wT, 0, 1, 1)
            if out is not wT:  # BLAS wrapper made a copy (never for contiguous weights)
                np.copyto(wT, out)
            out = gemv(-1.0, deltaT, ones, 1.0, b, 0, 1, 0, 1, 0, 1)
            if out is not b:  # as for the weights
                np.copyto(b, out)
            if below is not None:
                prime(below, a)

    def _decay(self, layer, w):
        """The regularizer's decay of ``w`` in place; the change goes to the decay buffer."""
        record = self.record
        if record:
            np.copyto(self._d[layer], w)
        self.regularizer.decay(w, self.eta, self.n, **self._decay_factor)
        if record:
            np.subtract(w, self._d[layer], out=self._d[layer])

    def _nielsen_update(self):
        for layer, (w, b) in enumerate(zip(self.net.weights, self.net.biases)):
            self._decay(layer, w)
            w -= self.grad_w[layer]
            b -= self.grad_b[layer]

    def _optimizer_update(self):
        """One step of the optimizer's chain: a decoupled decay in place, then the rest added."""
        opt = self.optimizer
        opt.tick()
        updates, opt._state = self._rest.update(self._grads, opt._state, self._params)
        net = self.net
        if self.record:
            self._recorded_update(updates)
            return
        if opt.decoupled:
            for layer, w in enumerate(net.weights):
                self._decay(layer, w)
        for p, s in zip((*net.weights, *net.biases), updates):
            p += s

    def _recorded_update(self, updates):
        """:meth:`_optimizer_update` keeping d and u, the decay part and the rest."""
        opt, net, params = self.optimizer, self.net, self._params
        L = len(net.weights)
        share = None
        if not opt.decoupled:
            rest, none = self._rest, [None] * len(params)
            if type(rest) is T.Chain:  # the chain may write the shares into d (no copy)
                share, opt._state = rest.split(none, opt._state, params, into=self._d_into)
            else:
                share, opt._state = rest.split(none, opt._state, params)
            if share is None:
                raise ValueError(f"the optimizer {opt!r} has a transform that cannot split "
                                 "its step into decay and gradient parts (no split()), which "
                                 "per-batch monitors need")
        d, u = self._d, self._u
        for layer, w in enumerate(net.weights):
            s = updates[layer]
            if opt.decoupled:
                self._decay(layer, w)
                np.copyto(u[layer], s)
            else:
                dl = share[layer]
                if dl is not d[layer]:
                    np.copyto(d[layer], dl)
                np.subtract(s, dl, out=u[layer])
            w += s
        for layer, b in enumerate(net.biases):
            b += updates[L + layer]

    # -- the driver's kernel interface (wdecay.driver) ------------------------------
    @staticmethod
    def refusal(plan):
        """None if the numpy step can run ``plan`` (one network), else why not, in one line."""
        if len(plan.networks) != 1:
            return (f"the numpy step trains one network, got {len(plan.networks)} "
                    "(wdecay.sweep.train_many stacks them)")
        return None

    @classmethod
    def prepare(cls, plan):
        """The step for ``plan``'s network, with its data and per-batch callback."""
        step = cls(plan.networks[0], min(plan.batch_size, plan.n), eta=plan.etas[0], n=plan.n,
                   regularizer=plan.regularizers[0], optimizer=plan.optimizer,
                   record=plan.per_batch, reset_optimizer=plan.reset_optimizer)
        step._data, step._on_step = (plan.X, plan.Y), plan.on_step if step.record else None
        return step

    def ready(self, monitors):
        """Read after on_train_begin: monitors may change the flag there."""
        self.keep_weights_before = monitors.needs_weights_before

    def run_epoch(self, orders, alive):
        """Every step of one epoch over ``orders[0]``; per-batch monitors after each step."""
        X, Y = self._data
        order, on_step, m = orders[0], self._on_step, len(self._full[0])
        for k, start in enumerate(range(0, len(X), m)):
            self(X, Y, order[start:start + m])
            if on_step is not None:
                on_step(k, self.parts)


def fit(network, X, y, *, epochs, batch_size, eta, regularizer=None,
        evaluation_data=None, monitors=(), seed=None, history=None, optimizer=None,
        backend="auto", reset_optimizer=True, **unknown):
    """Train ``network`` in place by mini-batch SGD (Nielsen's update by default).

    Parameters
    ----------
    network : Network
    X : array (n, sizes[0])
        Training inputs; ``n`` is also the ``n`` of the weight penalty. Used
        in place when it is already a C-contiguous array of the network's dtype;
        otherwise converted once per call (keep a converted copy, e.g.
        ``X32 = np.ascontiguousarray(X, np.float32)``, to train a float32
        network repeatedly without converting).
    y : array (n,) of int labels or (n, sizes[-1]) of targets
    epochs : int >= 0
    batch_size : int >= 1
    eta : float > 0
    regularizer : Regularizer, optional
        ``wdecay.L2(lmbda)``, ``wdecay.L1(lmbda)`` or None for no penalty.
    evaluation_data : tuple (X_eval, y_eval), optional
        Recorded as ``eval/accuracy`` and ``eval/cost`` each epoch.
    monitors : Monitor or sequence of Monitor
        Called in order; see :mod:`wdecay.monitors`. Without monitors the
        history holds only ``epoch`` (and ``eval/...`` with ``evaluation_data``);
        ``monitors=wdecay.monitors.diagnostics()`` records each layer's norms, R and kappa.
    seed : int, Generator or None
        Seed of the mini-batch order.
    history : History, optional
        A history to continue; epochs are then numbered after its last record.
        One opened with ``History(path, mode="resume")`` must belong to
        ``network`` (:meth:`~wdecay.History.check_resumable`), or ``ValueError``.
    optimizer : Optimizer or str, optional
        ``wdecay.optim.SGD()`` (default, Nielsen's update), ``Momentum``,
        ``Nesterov``, ``Adam``, ``AdamW`` or their names; its state starts
        afresh at every call unless ``reset_optimizer=False``.
    backend : {"auto", "numpy", "numba"}
        Who runs an epoch's steps. "numba" is the compiled kernel of
        :mod:`wdecay.numba_backend` (``pip install "wdecay[fast]"``): plain SGD,
        decay by a factor only (L2 or none), sigmoid hidden units, no per-batch
        monitors; asked for a run it cannot serve, it raises ``ValueError``
        saying why. "auto" (default) uses it when it is installed and the run
        qualifies, else numpy. Both agree to about 1e-12 relative in float64 (1e-4
        in float32).
    reset_optimizer : bool
        True (default): the optimizer's state (velocity, moments, step count)
        starts afresh. False: an optimizer instance passed again continues
        where its previous ``fit`` left it, so two calls of k epochs equal one
        of 2k epochs with the same mini-batch orders (see
        :meth:`wdecay.optim.Optimizer.state_dict` to save and restore it).

    Returns
    -------
    History
        One record per epoch, epoch 0 holding the initial values.

    Raises
    ------
    TrainingDivergedError
        If weights become NaN or inf; the message names the epoch.

    Examples
    --------
    >>> import wdecay
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    >>> net = wdecay.Network([4, 5, 3], seed=0)
    >>> h = fit(net, X, y, epochs=2, batch_size=10, eta=0.5, regularizer=wdecay.L2(5.0), seed=0)
    >>> h["epoch"].tolist()
    [0, 1, 2]
    """
    if unknown:
        if "lmbda" in unknown:
            raise TypeError("fit() takes no `lmbda`: pass the penalty as "
                            f"regularizer=wdecay.L2({unknown['lmbda']!r}) (or wdecay.L1)")
        raise TypeError(f"fit() got unexpected keyword arguments {sorted(unknown)}")
    X, labels, Y, evaluation = validate(network, X, y, epochs=epochs, batch_size=batch_size,
                                        evaluation_data=evaluation_data)
    config.check("eta", eta)
    regularizer = get_regularizer(regularizer)
    optimizer = get_optimizer(optimizer)
    history = History() if history is None else history
    if not isinstance(history, History):
        raise TypeError(f"`history` must be a wdecay.History to continue (or None), got "
                        f"{type(history).__name__}")
    if history.mode == "resume" and history.path is not None:
        history.check_resumable(network, regularizer=regularizer, n=len(X))  # as --resume does
    if not isinstance(reset_optimizer, bool):
        raise TypeError(f"`reset_optimizer` must be True or False, got {reset_optimizer!r}")
    plan = Plan([network], X, Y, batch_size=batch_size, etas=[eta], regularizers=[regularizer],
                optimizer=optimizer, reset_optimizer=reset_optimizer)
    drive(plan, backend=backend, kernels={"numpy": Step, "numba": NumbaEpoch}, what="training",
          epochs=epochs, labels=labels, evaluation=evaluation, monitors=[monitors],
          histories=[history], rngs=[np.random.default_rng(seed)],
          first=int(history.last("epoch", -1)) + 1, names=["training"])
    return history
