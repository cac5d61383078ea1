"""The fused chains (optimizers' ``[add_decay,] trace | scale_by_adam, scale``) give the bits of
the transforms run one after the other.

A subclass of a shipped transform is not fused (its arithmetic may differ), so
a chain of trivial subclasses runs the generic path: the reference here.
"""

import numpy as np
import pytest

import wdecay
from wdecay import monitors as M
from wdecay import transforms as T
from wdecay.optim import Adam, Momentum, Nesterov, Optimizer


class Trace(T.Trace):
    pass


class ScaleByAdam(T.ScaleByAdam):
    pass


class Scale(T.Scale):
    pass


class AddDecay(T.AddDecay):
    pass


class WideGradient(wdecay.L2):
    """An L2 whose gradient comes back in float64 whatever the weights' dtype."""

    def gradient(self, w, n):
        return (self.lmbda / n) * w.astype(np.float64)


class ElasticNet(wdecay.L2):
    def gradient(self, w, n):
        return 0.5 / n * np.sign(w) + (self.lmbda / n) * w


def chains(core, decay, reg, eta=0.05, n=20, mask=T.weights_only):
    """(fused chain, generic chain) with the same settings."""
    made = []
    for tr, adam, sc, add in ((T.Trace, T.ScaleByAdam, T.Scale, T.AddDecay),
                              (Trace, ScaleByAdam, Scale, AddDecay)):
        c = {"momentum": lambda tr=tr: tr(0.9),
             "nesterov": lambda tr=tr: tr(0.7, nesterov=True),
             "adam": lambda adam=adam: adam(0.8, 0.95, 1e-8)}[core]()
        parts = ([add(reg, n, mask)] if decay else []) + [c, sc(-eta)]
        made.append(T.chain(*parts))
    return made


def params_and_grads(dtype, rng):
    shapes = [(5, 4), (3, 5), (5,), (3,)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return params, [np.empty_like(p) for p in params]


@pytest.mark.parametrize("core", ["momentum", "nesterov", "adam"])
@pytest.mark.parametrize("decay, reg", [
    (True, wdecay.L2(5.0)), (True, wdecay.L1(2.0)), (True, wdecay.NoRegularizer()),
    (True, ElasticNet(3.0)), (True, WideGradient(4.0)), (False, None)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mask", [T.weights_only, [True, False, True, True]])
def test_fused_chain_equals_transforms_one_by_one(core, decay, reg, dtype, mask):
    fused, generic = chains(core, decay, reg, mask=mask)
    assert fused._plan() is not None and generic._plan() is None
    rng = np.random.default_rng(0)
    params, grads = params_and_grads(dtype, rng)
    states = [c.init(params) for c in (fused, generic)]
    kept = []
    for step in range(6):
        for g in grads:  # the training step refills the same gradient buffers each step
            g[...] = rng.standard_normal(g.shape) * 10.0 ** rng.integers(-6, 2)
        outs = []
        for k, c in enumerate((fused, generic)):
            updates, states[k] = c.update(grads, states[k], params)
            share = None
            if decay:
                share, states[k] = c.split([None] * len(params), states[k], params)
            outs.append((updates, share))
        (u1, s1), (u2, s2) = outs
        for a, b in zip(u1, u2):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
        if decay:
            for a, b in zip(s1, s2):
                assert (a is None) == (b is None)
                assert a is None or (a.dtype == b.dtype and a.tobytes() == b.tobytes())
        kept.append([u.copy() for u in u1] + [u1])
        for p, u in zip(params, u1):  # the weights move, so the decay gradient changes
            p += u.astype(p.dtype)
    assert repr(states[0]) == repr(states[1])
    for copies in kept:  # an update returned is the caller's: later steps do not touch it
        for a, b in zip(copies[:-1], copies[-1]):
            assert a.tobytes() == b.tobytes()


def test_only_the_shipped_shapes_are_fused():
    reg = wdecay.L2(1.0)
    assert T.chain(T.add_decay(reg, 10), T.trace(0.9), T.scale(-0.1))._plan() is not None
    assert T.chain(T.scale_by_adam(), T.scale(-0.1))._plan() is not None
    for c in (T.chain(T.add_decay(reg, 10), T.scale(-0.1)), T.chain(T.trace(0.9)),
              T.chain(T.trace(0.9), T.scale(-0.1), T.decay_weights(reg, 0.1, 10)),
              T.chain(T.trace(0.9), T.trace(0.5), T.scale(-0.1)),
              T.chain(T.scale_by_lion(), T.scale(-0.1))):
        assert c._plan() is None


def test_replacing_the_transforms_replaces_the_fused_plan():
    c = T.chain(T.trace(0.5), T.scale(-0.1))
    state = c.init([np.zeros(2)])
    assert c._plan() is not None
    c.transforms = (T.trace(0.5), T.trace(0.5), T.scale(-0.1))
    state = c.init([np.zeros(2)])
    updates, state = c.update([np.ones(2)], state, [np.zeros(2)])
    assert c._plan() is None and updates[0].tolist() == [-0.1, -0.1]


@pytest.mark.parametrize("optimizer, core", [
    (Momentum(0.9), lambda: Trace(0.9)), (Nesterov(0.5), lambda: Trace(0.5, nesterov=True)),
    (Adam(), lambda: ScaleByAdam()), (Adam(decoupled=True), lambda: ScaleByAdam()),
])
@pytest.mark.parametrize("budget", [False, True])
def test_fit_with_the_fused_chain_equals_fit_with_the_generic_one(optimizer, core, budget):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((41, 6)), rng.integers(0, 3, 41)
    runs = []
    for opt in (optimizer, Optimizer(core=[core()], decoupled=optimizer.decoupled)):
        net = wdecay.Network([6, 5, 3], initializer="large", seed=0)
        h = net.fit(X, y, epochs=2, batch_size=6, eta=0.05, regularizer=wdecay.L2(5.0), seed=0,
                    optimizer=opt, monitors=[M.NormBudget()] if budget else [],
                    backend="numpy")
        runs.append((net.parameters(), {k: np.asarray(h[k], float) for k in h.keys()}))
    (p1, h1), (p2, h2) = runs
    for a, b in zip(p1, p2):
        assert a.tobytes() == b.tobytes()
    assert h1.keys() == h2.keys()
    for k in h1:
        np.testing.assert_array_equal(h1[k], h2[k])


@pytest.mark.parametrize("core", ["momentum", "nesterov", "adam"])
@pytest.mark.parametrize("reg", [wdecay.L2(5.0), WideGradient(4.0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_split_into_buffers_gives_the_bits_of_split_without(core, reg, dtype):
    """``split(..., into=...)`` writes a share into its buffer where dtype and shape match."""
    chains_ = [chains(core, True, reg, mask=[True, True, True, False])[0] for _ in range(2)]
    rng = np.random.default_rng(1)
    params, grads = params_and_grads(dtype, rng)
    # a matching buffer, one of another dtype, one of another shape, None
    into = [np.empty((5, 4), dtype), np.empty((3, 5), np.float16), np.empty((4,), dtype), None]
    states = [c.init(params) for c in chains_]
    for step in range(5):
        for g in grads:
            g[...] = rng.standard_normal(g.shape)
        shares = []
        for k, c in enumerate(chains_):
            updates, states[k] = c.update(grads, states[k], params)
            share, states[k] = c.split([None] * len(params), states[k], params,
                                       into=into if k else None)
            shares.append(share)
        plain, written = shares
        assert written[3] is None and plain[3] is None
        for a, b, o in zip(plain[:3], written[:3], into):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
            assert (b is o) == (core != "nesterov" and o.dtype == b.dtype and o.shape == b.shape)
        assert written[0] is into[0] or core == "nesterov"
        for p, u in zip(params, updates):
            p += u.astype(p.dtype)
    assert repr(states[0]) == repr(states[1])
