"""Coupled Adam's decay model, and predict_tailoff for every shipped optimizer."""

import math

import numpy as np
import pytest
from strategies import two_class_data

import wdecay
from wdecay.adaptive_equilibrium import (
    adam_decay_threshold,
    adam_step_mean,
    adam_tailoff_steps,
    adamw_fixed_point,
    element_moments,
    lion_step_mean,
    rotational_rms,
)
from wdecay.equilibrium import (
    gradient_noise,
    predict_tailoff,
    soft_threshold_level,
    stationary_point,
)

data = two_class_data


def test_element_moments_add_up_to_the_layer_noise_and_match_brute_force():
    X, y = data(n=12)
    net = wdecay.Network([5, 4, 2], seed=0)
    for m in (1, 3, 12):
        moments = element_moments(net, X, y, m)
        for (g, sq), part in zip(moments, gradient_noise(net, X, y, m)):
            assert float(np.sum(sq)) == pytest.approx(part["mean_sq"], rel=1e-10)
            assert float(np.sum(g * g)) == pytest.approx(part["full_sq"], rel=1e-10)
    # m = 1: E[g_B^2] is the mean over rows of the per-row gradient squared
    Y = np.eye(2)[y]
    rows = [net.backprop(X[i:i + 1], Y[i:i + 1])[0] for i in range(len(X))]
    for l, (g, sq) in enumerate(element_moments(net, X, y, 1)):
        assert np.allclose(sq, np.mean([r[l] ** 2 for r in rows], axis=0))
        assert np.allclose(g, np.mean([r[l] for r in rows], axis=0))


def test_adam_decay_follows_its_normalised_step():
    """The closed form against the per-step recurrence w <- w - eta r w / sqrt(sigma^2 + r^2 w^2)."""
    rng = np.random.default_rng(0)
    w0, sigma = rng.standard_normal(200), np.abs(rng.standard_normal(200)) * 1e-3
    sigma[:50] = 0.0  # no gradient: linear, eta per step
    eta, r, steps = 1e-3, 2.5e-3, 600
    w = w0.copy()
    for _ in range(steps):
        w = w - eta * r * w / np.maximum(np.sqrt(sigma ** 2 + (r * w) ** 2), 1e-300)
    closed = adam_decay_threshold(w0, sigma, eta, r, steps)
    live = sigma > 0
    assert np.allclose(closed[live], np.abs(w[live]), rtol=2e-3, atol=2e-3)
    assert np.allclose(closed[~live], np.maximum(np.abs(w0[~live]) - eta * steps, 0))


def test_without_gradient_noise_adam_decay_is_l1s_soft_threshold():
    w0 = np.random.default_rng(1).standard_normal(500)
    t = adam_tailoff_steps(w0, np.zeros_like(w0), 1e-3, 0.01, 0.3)
    assert t == pytest.approx(soft_threshold_level(w0, 0.3) / 1e-3, rel=1e-6)
    # with noise far above decay's gradient it is exponential at eta r / sigma per step
    sigma = np.full_like(w0, 10.0)
    t = adam_tailoff_steps(w0, sigma, 1e-3, 0.01, 0.5 * math.sqrt(np.mean(w0 ** 2)))
    assert t == pytest.approx(math.log(2) / (1e-3 * 0.01 / 10.0), rel=1e-3)


def test_coupled_adam_plateau_is_sgds_stationary_point():
    X, y = data(n=80)
    net = wdecay.Network([5, 4, 2], initializer="large", seed=2)
    net.weights[0] *= 5.0
    reg = wdecay.L2(0.5)
    p = predict_tailoff(net, X, y, eta=0.01, batch_size=8, regularizer=reg, tol=1e-4,
                        warm_start_epochs=0, optimizer="adam")
    sp = stationary_point(net, X, y, reg, tol=1e-4)
    assert p.optimizer == "Adam"
    for layer, w in zip(p, sp.network.weights):
        assert layer.plateau_rms == pytest.approx(np.sqrt(np.mean(w ** 2)), rel=1e-3)
    assert p[1].tailoff_epoch is not None and p[1].tailoff_epoch > 0


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam", "adamw",
                                       wdecay.optim.Lion()])
def test_every_shipped_optimizer_gets_a_number_or_a_one_line_reason(optimizer):
    X, y = data()
    p = predict_tailoff(wdecay.Network([5, 4, 2], seed=0), X, y, eta=0.01, batch_size=10,
                        regularizer=wdecay.L2(1.0), optimizer=optimizer)
    for layer in p:
        assert layer.plateau_rms is not None or layer.reason
        assert "\n" not in layer.reason


@pytest.mark.parametrize("optimizer, name", [("adamw", "AdamW"), (wdecay.optim.Lion(), "Lion")])
def test_decoupled_adaptive_optimizers_are_refused_with_their_estimate(optimizer, name):
    X, y = data(n=80)
    eta, lmbda = 0.01, 2.0
    p = predict_tailoff(wdecay.Network([5, 4, 2], seed=0), X, y, eta=eta, batch_size=10,
                        regularizer=wdecay.L2(lmbda), optimizer=optimizer)
    estimate = math.sqrt(eta * 80 / (2 * lmbda))
    for layer in p:
        assert layer.plateau_rms is None and layer.tailoff_epoch is None
        assert layer.reason.startswith(f"no plateau for {name} (decoupled)")
        assert f"= {estimate:.4g} assumes" in layer.reason
        assert f"1/(eta lmbda/n) = {80 / (eta * lmbda):.4g} steps" in layer.reason
        assert layer.rotational_rms == pytest.approx(rotational_rms(eta, lmbda / 80))
        fixed = "E[u] = -(lmbda/n) w misses" if name == "AdamW" else "E[sign(c)]"
        assert fixed in layer.reason


def test_coupled_adam_under_l1_is_refused():
    X, y = data()
    p = predict_tailoff(wdecay.Network([5, 4, 2], seed=0), X, y, eta=0.01, batch_size=10,
                        regularizer=wdecay.L1(1.0), optimizer="adam")
    assert all(l.reason.startswith("no prediction for coupled Adam under L1") for l in p)


def mean_step(transform, g, s, copies, settle, seed, steps=3000):
    """A transform's mean update fed g + s xi for ``steps`` steps after ``settle``, per gradient."""
    rng = np.random.default_rng(seed)
    state, total = transform.init([g]), np.zeros_like(g)
    for k in range(steps):
        (u,), state = transform.update([g + s * rng.standard_normal(g.size)], state, [g])
        if k >= settle:
            total += u
    return (total / (steps - settle)).reshape(-1, copies).mean(axis=1)


def test_adam_step_mean_is_the_mean_of_adams_normalised_step():
    """Adam's own transform fed g + s xi: the mean of u is g / sqrt(g^2 + s^2) (beta1 does not bias it)."""
    from wdecay.transforms import scale_by_adam

    g = np.repeat(np.linspace(-1.0, 1.0, 21), 100)  # 100 independent weights per gradient
    s = np.full_like(g, 0.5)
    s[:100] = 0.0  # noise-free: u = sign(g)
    mean = mean_step(scale_by_adam(), g, s, copies=100, settle=1000, seed=0)  # v settles
    g, s = g[::100], s[::100]
    assert np.allclose(mean, adam_step_mean(g, s * s), atol=0.01)
    assert mean[0] == pytest.approx(-1.0, abs=1e-6)


def test_lion_step_mean_is_the_mean_of_its_sign_step():
    """Lion's own transform fed g + s xi: the mean of sign(c) is erf(g / (sqrt(2) k s))."""
    from wdecay.transforms import scale_by_lion

    g = np.repeat(np.linspace(-0.2, 0.2, 21), 400)  # m's memory is 100 steps: many copies
    s = np.full_like(g, 1.0)
    mean = mean_step(scale_by_lion(), g, s, copies=400, settle=500, seed=1)  # m settles
    assert np.allclose(mean, lion_step_mean(g[::400], s[::400] ** 2), atol=0.02)
    assert abs(mean[-1]) > 0.7  # far from g / s = 0.2: the sign is sharper than the gradient


def logistic_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 5))
    return X, (X[:, 0] + 0.3 * rng.standard_normal(n) > X[:, 1]).astype(int)


def adamw_plateau(net, X, y, epochs=400, eta=0.01, lmbda=20.0, optimizer="adamw"):
    from wdecay import monitors as M

    h = net.fit(X, y, epochs=epochs, batch_size=10, eta=eta, regularizer=wdecay.L2(lmbda),
                optimizer=optimizer, monitors=[M.WeightNorms()], seed=0)
    return [float(np.mean(h[f"layer{l}/rms"][-100:])) for l in range(1, len(net.sizes))]


def test_adamw_fixed_point_is_the_plateau_without_a_hidden_layer():
    """Logistic regression (convex): the fixed point from the initial weights is AdamW's plateau (+1.1%)."""
    X, y = logistic_data()
    net = wdecay.Network([5, 2], initializer="large", seed=0)
    p = adamw_fixed_point(net, X, y, eta=0.01, batch_size=10, lmbda=20.0)
    measured = adamw_plateau(net.copy(), X, y)
    assert p.plateau_rms[0] == pytest.approx(measured[0], rel=0.03)
    assert p.rounds[-1][0] == pytest.approx(p.rounds[-2][0], rel=0.01)  # settled
    assert np.all(np.abs(p.network.weights[0]) < 1 / (20.0 / 200))  # |E[u]| < 1


def test_adamw_fixed_point_with_a_hidden_layer_depends_on_its_start():
    """[5, 4, 2]: from the run's end the fixed point is the plateau; from the initial weights another one."""
    X, y = logistic_data()
    start = wdecay.Network([5, 4, 2], initializer="large", seed=0)
    trained = start.copy()
    measured = adamw_plateau(trained, X, y)
    end = adamw_fixed_point(trained, X, y, eta=0.01, batch_size=10, lmbda=20.0)
    cold = adamw_fixed_point(start, X, y, eta=0.01, batch_size=10, lmbda=20.0)
    for p, m in zip(end.plateau_rms, measured):
        assert p == pytest.approx(m, rel=0.05)
    assert cold.plateau_rms[0] > 1.5 * measured[0]


def test_lions_fixed_point_is_its_plateau_on_a_small_network():
    """Lion, [5, 4, 2]: the sign step's fixed point from the initial weights (-0.8%, +1.6% measured)."""
    X, y = logistic_data()
    net = wdecay.Network([5, 4, 2], initializer="large", seed=0)
    p = adamw_fixed_point(net, X, y, eta=0.001, batch_size=10, lmbda=100.0, step="lion")
    measured = adamw_plateau(net.copy(), X, y, eta=0.001, lmbda=100.0,
                             optimizer=wdecay.optim.Lion())
    for fixed, m in zip(p.plateau_rms, measured):
        assert fixed == pytest.approx(m, rel=0.04)
    assert p.plateau_rms == p.fixed_rms  # Lion's spread is not modelled
    with pytest.raises(ValueError, match="step: expected"):
        adamw_fixed_point(net, X, y, eta=0.001, batch_size=10, lmbda=1.0, step="sgd")


def test_the_fixed_point_script_runs_small(tmp_path, monkeypatch):
    import json
    import pathlib
    import runpy

    monkeypatch.setenv("WDECAY_EXAMPLE_SMALL", "1")
    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "adamw_fixed_point.py"
    out = tmp_path / "fixed.json"
    rows = runpy.run_path(str(script))["main"](["--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(rows))
    assert [r["layer"] for r in rows] == [1, 2] and rows[0]["n"] == 300
