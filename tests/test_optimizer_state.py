"""Optimizer state that resumes: state_dict / load_state_dict and fit(reset_optimizer=False)."""

import numpy as np
import pytest

import wdecay
from wdecay import optim

OPTIMIZERS = [
    lambda: optim.Momentum(0.9),
    lambda: optim.Nesterov(0.8),
    lambda: optim.Adam(),
    lambda: optim.AdamW(),
    lambda: optim.SGD(decoupled=False),
    lambda: optim.SGD(),
]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((60, 5)), rng.integers(0, 3, 60)


def _train(net, opt, epochs, seed, **kw):
    X, y = _data()
    return net.fit(X, y, epochs=epochs, batch_size=7, eta=0.05, regularizer=wdecay.L2(3.0),
                   optimizer=opt, seed=seed, backend="numpy", **kw)


def _orders_equal_run(make_opt):
    """Two fits of 2 epochs continuing the state, against one of 4 with the same orders."""
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    whole = wdecay.Network([5, 4, 3], seed=3)
    _train(whole, make_opt(), 4, rng_a)
    split = wdecay.Network([5, 4, 3], seed=3)
    opt = make_opt()
    _train(split, opt, 2, rng_b)
    _train(split, opt, 2, rng_b, reset_optimizer=False)
    return whole, split


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
def test_second_fit_continues_the_state_bit_for_bit(make_opt):
    whole, split = _orders_equal_run(make_opt)
    for a, b in zip(whole.parameters(), split.parameters()):
        np.testing.assert_array_equal(a, b)


def test_reset_is_the_default_and_differs_for_a_stateful_optimizer():
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    whole = wdecay.Network([5, 4, 3], seed=3)
    _train(whole, optim.Adam(), 4, rng_a)
    split = wdecay.Network([5, 4, 3], seed=3)
    opt = optim.Adam()
    _train(split, opt, 2, rng_b)
    _train(split, opt, 2, rng_b)
    assert not np.array_equal(whole.weights[0], split.weights[0])


@pytest.mark.parametrize("make_opt", OPTIMIZERS[:4])
def test_state_dict_round_trip_through_a_new_instance(make_opt):
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    whole = wdecay.Network([5, 4, 3], seed=4)
    _train(whole, make_opt(), 3, rng_a)
    split = wdecay.Network([5, 4, 3], seed=4)
    first = make_opt()
    _train(split, first, 1, rng_b)
    saved = first.state_dict()
    second = make_opt()
    second.load_state_dict(saved)
    assert second.t == first.t > 0
    _train(split, second, 2, rng_b, reset_optimizer=False)
    for a, b in zip(whole.parameters(), split.parameters()):
        np.testing.assert_array_equal(a, b)


def test_state_dict_is_a_copy():
    opt = optim.Momentum(0.5)
    net = wdecay.Network([5, 4, 3], seed=0)
    _train(net, opt, 1, 0)
    saved = opt.state_dict()
    before = saved["state"][1]["v"][0].copy()
    _train(net, opt, 1, 1, reset_optimizer=False)
    np.testing.assert_array_equal(saved["state"][1]["v"][0], before)
    assert not np.array_equal(opt.state_dict()["state"][1]["v"][0], before)


def test_continue_needs_a_state_sized_for_the_network():
    with pytest.raises(ValueError, match="reset_optimizer=False needs an optimizer with a state"):
        _train(wdecay.Network([5, 4, 3], seed=0), optim.Adam(), 1, 0, reset_optimizer=False)
    opt = optim.Adam()
    _train(wdecay.Network([5, 6, 3], seed=0), opt, 1, 0)
    with pytest.raises(ValueError, match="reset_optimizer=False needs"):
        _train(wdecay.Network([5, 4, 3], seed=0), opt, 1, 0, reset_optimizer=False)


def _started(opt, shapes=((2, 3), (2,))):
    opt.start(opt.transform(0.1, wdecay.L2(1.0), 10), [np.zeros(s) for s in shapes])
    return opt


def test_load_state_dict_refuses_a_mismatch():
    opt = _started(optim.Adam())
    good = opt.state_dict()
    with pytest.raises(ValueError, match="keys 't' and 'state'"):
        opt.load_state_dict({"t": 1})
    with pytest.raises(ValueError, match="step count"):
        opt.load_state_dict({**good, "t": -1})
    fresh = optim.Adam()
    fresh.load_state_dict(good)  # checked against the network at the next fit
    with pytest.raises(ValueError, match=r"sized for this network.*must hold 4 entries, got 2"):
        _train(wdecay.Network([5, 4, 3], seed=0), fresh, 1, 0, reset_optimizer=False)
    other = _started(optim.Adam(), ((2, 4), (2,)))
    with pytest.raises(ValueError, match=r"finite values of shape \(2, 3\)"):
        opt.load_state_dict(other.state_dict())
    bad = opt.state_dict()
    bad["state"][1]["m"][0][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"state\[1\]\['m'\]\[0\] must be finite"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="must have the keys"):
        _started(optim.Momentum()).load_state_dict(good)


def test_reset_optimizer_must_be_bool():
    with pytest.raises(TypeError, match="reset_optimizer"):
        _train(wdecay.Network([5, 4, 3], seed=0), optim.Adam(), 1, 0, reset_optimizer="no")


# -- monitors ------------------------------------------------------------------

def test_a_stateless_monitor_has_an_empty_state():
    from wdecay.monitors import WeightNorms

    m = WeightNorms()
    assert m.state_dict() == {}
    m.load_state_dict({})
    with pytest.raises(ValueError, match="keeps no state"):
        m.load_state_dict({"x": 1})


def test_norm_budget_state_continues_a_split_fit():
    from wdecay.monitors import NormBudget

    X, y = _data()
    kw = dict(batch_size=7, eta=0.5, regularizer=wdecay.L2(30.0), backend="numpy")
    whole_budget = NormBudget(threshold=0.1)
    whole = wdecay.Network([5, 4, 3], seed=3)
    h_whole = whole.fit(X, y, epochs=6, monitors=[whole_budget], seed=np.random.default_rng(5), **kw)
    assert whole_budget.tailoff, "the test needs a tail-off to carry over"
    split = wdecay.Network([5, 4, 3], seed=3)
    rng = np.random.default_rng(5)
    first = NormBudget(threshold=0.1)
    history = split.fit(X, y, epochs=3, monitors=[first], seed=rng, **kw)
    second = NormBudget(threshold=0.1)
    second.load_state_dict(first.state_dict())
    split.fit(X, y, epochs=3, monitors=[second], seed=rng, history=history, **kw)
    assert second.tailoff == whole_budget.tailoff
    for key in h_whole.keys():
        np.testing.assert_array_equal(np.asarray(history[key], float),
                                      np.asarray(h_whole[key], float), err_msg=key)


def test_norm_budget_state_refuses_garbage():
    from wdecay.monitors import NormBudget

    with pytest.raises(ValueError, match="'tailoff'"):
        NormBudget().load_state_dict({"tail": {}})
    with pytest.raises(ValueError, match="layer numbers"):
        NormBudget().load_state_dict({"tailoff": {"a": 1}})
    with pytest.raises(ValueError, match=">= 1"):
        NormBudget().load_state_dict({"tailoff": {0: 1}})
