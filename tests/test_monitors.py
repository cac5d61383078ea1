"""The monitor API and every built-in diagnostic, checked against direct numpy."""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from strategies import make_data

import wdecay
from wdecay import monitors as M
from wdecay.history import History


def small_run(monitors, epochs=2, regularizer=wdecay.L2(5.0), evaluation=True, **kw):
    X, y = make_data([6, 5, 3], 40, 0)
    net = wdecay.Network([6, 5, 3], initializer="large", seed=0)
    h = net.fit(X, y, epochs=epochs, batch_size=7, eta=0.5, regularizer=regularizer,
                evaluation_data=(X[:10], y[:10]) if evaluation else None,
                monitors=monitors, seed=0, **kw)
    return net, h, X, y


class MaxWeight(M.Monitor):
    def on_epoch_end(self, state):
        return {"custom/max_w": max(float(np.abs(w).max()) for w in state.weights)}


def test_custom_monitor_appears_in_history_and_csv(tmp_path):
    net, h, _, _ = small_run([MaxWeight()], history=History(path=tmp_path / "h.csv"))
    assert h["custom/max_w"][-1] == max(np.abs(w).max() for w in net.weights)
    assert History.from_csv(tmp_path / "h.csv")["custom/max_w"][-1] == h["custom/max_w"][-1]


def test_lambda_monitor_and_hook_order():
    calls = []
    mon = M.LambdaMonitor(on_train_begin=lambda s: calls.append("begin"),
                          on_epoch_begin=lambda s: calls.append(f"e{s.epoch}"),
                          on_epoch_end=lambda s: calls.append(f"end{s.epoch}"),
                          on_train_end=lambda s: calls.append("finish"))
    small_run([mon], epochs=2)
    assert calls == ["begin", "end0", "e1", "end1", "e2", "end2", "finish"]


def test_builtins_match_numpy_on_known_weights():
    mons = [M.WeightNorms(), M.LayerStatistics(biases=True, bins=[-1, 0, 1]), M.SumVsAbsSum(),
            M.DecayPrediction(), M.Saturation()]
    net, h, X, y = small_run(mons, epochs=0)
    r = h[0]
    for l, (w, b) in enumerate(zip(net.weights, net.biases), 1):
        assert r[f"layer{l}/fro2"] == pytest.approx(np.sum(w ** 2), rel=1e-14)
        assert r[f"layer{l}/fro"] == pytest.approx(np.linalg.norm(w), rel=1e-14)
        assert r[f"layer{l}/l1"] == pytest.approx(np.sum(np.abs(w)), rel=1e-14)
        assert r[f"layer{l}/rms"] == pytest.approx(np.sqrt(np.mean(w ** 2)), rel=1e-14)
        assert r[f"layer{l}/max_abs"] == np.max(np.abs(w))
        assert r[f"layer{l}/mean"] == pytest.approx(w.mean(), rel=1e-12)
        assert r[f"layer{l}/var"] == pytest.approx(w.var(), rel=1e-12)
        assert r[f"layer{l}/bias_var"] == pytest.approx(b.var(), rel=1e-12)
        counts = [r[f"layer{l}/hist00"], r[f"layer{l}/hist01"]]
        assert counts == list(np.histogram(w, bins=[-1, 0, 1])[0])
        assert r[f"layer{l}/hist_below"] + sum(counts) + r[f"layer{l}/hist_above"] == w.size
        assert r[f"layer{l}/sum"] == pytest.approx(w.sum(), rel=1e-12)
        assert r[f"layer{l}/abs_sum"] == pytest.approx(np.abs(w).sum(), rel=1e-14)
        assert r[f"layer{l}/cancellation"] == pytest.approx(abs(w.sum()) / np.abs(w).sum())
        # the induced 1-norm is what np.linalg.norm(W, 1) returns, not sum |w|
        assert r[f"layer{l}/induced_l1"] == pytest.approx(np.linalg.norm(w, 1), rel=1e-14)
        assert r[f"layer{l}/ref_inv_sqrt_N"] == 1 / math.sqrt(30 + 15)
        assert r[f"layer{l}/ref_inv_sqrt_fan_in"] == 1 / math.sqrt(w.shape[1])
    assert r["total/fro2"] == pytest.approx(sum(np.sum(w ** 2) for w in net.weights))
    assert r["total/penalized"] == r["total/fro2"]
    assert r["total/penalty"] == pytest.approx(5.0 / (2 * 40) * r["total/fro2"])
    Xe = X[:10]
    assert r["layer1/ref_inv_sqrt_input_power"] == pytest.approx(
        1 / math.sqrt(np.mean(np.sum(Xe ** 2, axis=1))))
    z1 = Xe @ net.weights[0].T + net.biases[0]
    s = 1 / (1 + np.exp(-z1))
    assert r["layer1/mean_fprime"] == pytest.approx(np.mean(s * (1 - s)), rel=1e-12)
    assert r["eval/accuracy"] == np.mean(np.argmax(net.feedforward(Xe), 1) == y[:10])
    out = net.feedforward(Xe)
    Ye = np.eye(3)[y[:10]]
    ce = -np.sum(Ye * np.log(out) + (1 - Ye) * np.log(1 - out), axis=1).mean()
    assert r["eval/cost"] == pytest.approx(ce + 5.0 / (2 * 40) * r["total/fro2"], rel=1e-10)


def test_decay_prediction_uses_exact_per_step_factor():
    net0 = wdecay.Network([6, 5, 3], initializer="large", seed=0)
    _, h, _, _ = small_run([M.DecayPrediction()], epochs=3)
    a = 1 - 0.5 * 5.0 / 40
    steps = 3 * math.ceil(40 / 7)
    expected = np.sqrt(np.mean(net0.weights[0] ** 2)) * a ** steps
    assert h["layer1/predicted_rms"][-1] == pytest.approx(expected, rel=1e-13)
    _, h1, _, _ = small_run([M.DecayPrediction()], epochs=1, regularizer=wdecay.L1(5.0))
    c = 0.5 * 5.0 / 40 * math.ceil(40 / 7)
    shrunk = np.maximum(np.abs(net0.weights[0]) - c, 0)
    assert h1["layer1/predicted_rms"][-1] == pytest.approx(np.sqrt(np.mean(shrunk ** 2)))


@pytest.mark.parametrize("reg", [wdecay.L2(5.0), wdecay.L1(5.0), wdecay.NoRegularizer()])
def test_norm_budget_adds_up_to_the_measured_change(reg):
    class Check(M.Monitor):
        worst = 0.0

        def on_batch_end(self, state):
            D, G, Q, measured = budget.last_step.T
            before = np.array([np.vdot(w, w) for w in state.weights_before])
            after = np.array([np.vdot(w, w) for w in state.weights])
            # the split is exact algebra; what remains is rounding of the norms
            err = np.abs(D + G + Q - (after - before)) / after
            Check.worst = max(Check.worst, float(err.max()))
            np.testing.assert_allclose(measured, after - before, rtol=1e-12)

    budget = M.NormBudget()
    _, h, _, _ = small_run([budget, Check()], epochs=2, regularizer=reg)
    assert Check.worst < 1e-12
    for l in (1, 2):
        total = h[f"layer{l}/budget_D"] + h[f"layer{l}/budget_G"] + h[f"layer{l}/budget_Q"]
        np.testing.assert_allclose(total[1:], h[f"layer{l}/budget_measured"][1:],
                                   rtol=1e-9, atol=1e-12)


def test_step_parts_are_consistent():
    class Parts(M.Monitor):
        def on_batch_end(self, state):
            for w0, w1, d, u, g in zip(state.weights_before, state.weights, state.decay_update,
                                       state.gradient_update, state.grad_weights):
                np.testing.assert_allclose(w0 + d + u, w1, rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(u, -state.eta * g, rtol=1e-14)

    small_run([Parts()], epochs=1, regularizer=wdecay.L1(2.0))


def test_monitor_cannot_change_weights():
    class Vandal(M.Monitor):
        def on_epoch_end(self, state):
            state.weights[0][0, 0] = 123.0

    with pytest.raises(M.MonitorError, match="Vandal"):
        small_run([Vandal()])


def test_monitor_exception_names_monitor_and_epoch_and_keeps_history():
    class Fails(M.Monitor):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                raise RuntimeError("boom")
            return {"ok": 1}

    with pytest.raises(M.MonitorError, match=r"Fails raised in on_epoch_end at epoch 2.*boom") as e:
        small_run([Fails()], epochs=4)
    assert list(e.value.history["epoch"]) == [0, 1]


def test_killed_run_leaves_readable_csv(tmp_path):
    path = tmp_path / "h.csv"
    script = textwrap.dedent(f"""
        import os, numpy as np, wdecay
        from wdecay import monitors as M
        from wdecay.history import History
        class Kill(M.Monitor):
            def on_epoch_end(self, state):
                if state.epoch == 3:
                    os._exit(9)
        X = np.random.default_rng(0).random((30, 4)); y = np.arange(30) % 3
        wdecay.Network([4, 3], seed=0).fit(X, y, epochs=10, batch_size=5, eta=0.1,
            monitors=[M.WeightNorms(), Kill()], history=History(path={str(path)!r}))
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    h = History.from_csv(path)
    assert list(h["epoch"]) == [0, 1, 2] and np.all(h["layer1/rms"] > 0)


def test_early_stopping_stops():
    X, y = make_data([6, 3], 30, 1)
    net = wdecay.Network([6, 3], seed=0)
    h = net.fit(X, y, epochs=50, batch_size=5, eta=1e-9, evaluation_data=(X, y),
                monitors=[M.EarlyStopping(2)])
    assert len(h) == 4  # epoch 0, then 1 is the best, 2 and 3 do not improve


def test_progress_bar_plain_text(capsys):
    import io
    out = io.StringIO()
    small_run([M.ProgressBar(stream=out, force=True)], epochs=2)
    text = out.getvalue()
    assert "training epoch 1/2" in text and "training epoch 2/2" in text
    assert text.count("\r\033[K") == 2  # erased after each epoch


def test_seed_settings_follow_the_theory_on_real_digits():
    """The seed experiment on the embedded MNIST sample, first 10 epochs.

    With N(0, 1) weights, z = w.x is huge (RMS about sqrt(E|x|^2) ~ 9), so hidden
    sigmoids are saturated and pass almost no gradient back: the first layer's
    weights change almost only through decay, and must follow the pure-decay
    curve (1 - eta lmbda / n)^t. The output layer sees unsaturated gradients
    from the start, so its gradient steps balance (and beat) the decay.
    """
    from wdecay.datasets import load_mnist_sample

    (X, y), (Xv, yv), _ = load_mnist_sample()
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    h = net.fit(X, y, epochs=10, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                evaluation_data=(Xv, yv), monitors=[M.NormBudget(), M.DecayPrediction()],
                seed=0)
    # 1. Layer 1 follows pure decay within 1% for epochs 0-10 (measured: within 0.05%).
    assert np.all(np.abs(h["layer1/rms_ratio"] - 1) < 0.01)
    # 2. Decay dominates layer 1's norm budget: R < 0.1 (measured: |R| < 0.01).
    assert np.all(np.abs(h["layer1/R"][1:]) < 0.1)
    # 3. The output layer is at equilibrium or growing: R near 1 from epoch 3
    #    (measured 1.06-1.38), and its RMS grows from epoch 1 on.
    assert np.all(np.abs(h["layer2/R"][3:] - 1) < 0.5)
    assert np.all(np.diff(h["layer2/rms"][1:]) > 0)


def test_forward_cache_never_confuses_temporary_arrays():
    class Temporaries(M.Monitor):
        def on_epoch_end(self, state):
            outs = []
            for scale in (1.0, 2.0, 3.0):
                outs.append(state.feedforward(np.full((4, 6), scale)).copy())
            assert not np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[1], outs[2])

    small_run([Temporaries()], epochs=1)


def test_views_cannot_be_made_writeable_again():
    attempts = []

    class Sneaky(M.Monitor):
        def on_epoch_end(self, state):
            for view in (state.weights[0], state.biases[0], state.train_data[0]):
                with pytest.raises(ValueError):
                    view.flags.writeable = True
                with pytest.raises((TypeError, ValueError)):
                    view.base[...] = 7
                attempts.append(view)

    net, h, X, y = small_run([Sneaky()], epochs=1)
    assert len(attempts) == 6
    assert not np.any(net.weights[0] == 7) and not np.any(X == 7)


def test_step_views_cannot_be_made_writeable_again():
    class Sneaky(M.Monitor):
        def on_batch_end(self, state):
            for view in (state.weights_before[0], state.decay_update[0],
                         state.gradient_update[0], state.grad_weights[0]):
                with pytest.raises(ValueError):
                    view.flags.writeable = True

    small_run([Sneaky()], epochs=1)


@pytest.mark.parametrize("bad,match", [([1, 2], "must return a dict or None, got list"),
                                        ({"epoch": 3}, "returned the key 'epoch'")])
def test_bad_monitor_returns_name_the_monitor(bad, match):
    class Odd(M.Monitor):
        def on_epoch_end(self, state):
            return bad

    with pytest.raises((TypeError, ValueError), match="monitor Odd: on_epoch_end " + match[:4]):
        small_run([Odd()])


def test_decay_update_without_weights_before():
    """The tutorial's advice: needs_weights_before = False, yet decay_update still works."""
    seen = []

    class Light(M.Monitor):
        needs_weights_before = False

        def on_batch_end(self, state):
            assert state.weights_before is None
            seen.append([np.array(d) for d in state.decay_update])

    class Full(M.Monitor):
        def on_batch_end(self, state):
            seen.append([np.array(d) for d in state.decay_update])

    small_run([Light()], epochs=1)
    light, seen[:] = list(seen), []
    small_run([Full()], epochs=1)
    for a, b in zip(light, seen):
        for x, z in zip(a, b):
            np.testing.assert_array_equal(x, z)
    assert np.abs(light[0][0]).max() > 0


def test_needs_weights_before_is_read_after_on_train_begin():
    class Late(M.Monitor):
        needs_weights_before = True

        def on_train_begin(self, state):
            self.needs_weights_before = False

        def on_batch_end(self, state):
            assert state.weights_before is None

    small_run([Late()], epochs=1)


def test_norm_budget_ratios():
    """R = G/(-D) + Q/(-D), and R = 1 + (measured change)/|D| when D < 0."""
    _, h, _, _ = small_run([M.NormBudget()], epochs=3)
    for l in (1, 2):
        D, R = h[f"layer{l}/budget_D"][1:], h[f"layer{l}/R"][1:]
        np.testing.assert_allclose(h[f"layer{l}/G_ratio"][1:] + h[f"layer{l}/Q_ratio"][1:], R,
                                   rtol=1e-12)
        assert np.all(D < 0)
        np.testing.assert_allclose(R, 1 + h[f"layer{l}/budget_measured"][1:] / np.abs(D),
                                   rtol=1e-9)


def test_a_reused_decay_prediction_and_norm_budget_start_afresh_on_a_new_run():
    import wdecay
    from wdecay import monitors as M
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 4)), rng.integers(0, 3, 40)
    dp, nb = M.DecayPrediction(), M.NormBudget()
    wdecay.Network([4, 3], seed=0).fit(X, y, epochs=2, batch_size=5, eta=0.1,
                                       regularizer=wdecay.L2(1.0), monitors=[dp, nb])
    h = wdecay.Network([4, 3], seed=1).fit(X, y, epochs=1, batch_size=5, eta=0.1,
                                           regularizer=wdecay.L2(1.0), monitors=[dp, nb])
    assert h["layer1/rms_ratio"][0] == pytest.approx(1.0, abs=1e-12)  # from this start
    assert np.isnan(h["layer1/departure_epoch"][0])


def test_monitor_settings_are_checked():
    from wdecay import monitors as M
    with pytest.raises(ValueError, match="`tolerance` must be > 0"):
        M.DecayPrediction(tolerance=0)
    with pytest.raises(TypeError, match="`threshold` must be a real number"):
        M.NormBudget(threshold="0.5")


def test_angles_follow_weights_edited_between_epochs():
    """A callback that scales the weights between epochs: each step's angle and cosine are
    still those of the step's own arrays (a ||W_before||^2 carried over from the last step
    gave angles near pi/2 here)."""
    from wdecay.monitors.angular import step_angle

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    net = wdecay.Network([4, 5, 3], seed=0)
    angles = {}

    class Direct(M.Monitor):
        def on_batch_end(self, state):
            for l, (b, a) in enumerate(zip(state.weights_before, state.weights), 1):
                angles.setdefault((state.epoch, l), []).append(step_angle(b, a))

    def edit(state):
        for w in net.weights:
            w *= 3.0

    h = wdecay.fit(net, X, y, epochs=3, batch_size=20, eta=0.5, regularizer=wdecay.L2(5.0),
                   seed=0, backend="numpy",
                   monitors=[M.LambdaMonitor(on_epoch_end=edit), M.AngularUpdate(), Direct()])
    for (epoch, l), values in angles.items():
        assert h[f"layer{l}/angle"][epoch] == pytest.approx(np.mean(values), rel=1e-12)
    assert max(h["layer1/angle"][1:]) < 0.1


@pytest.mark.parametrize("optimizer", [None, "momentum"])
def test_shared_step_norms_and_signed_update_equal_direct_numpy(optimizer):
    """What AngularUpdate and NormBudget share per step equals numpy on the step's arrays.

    ``squared_norms`` computes ||W_before||^2, ||W_after||^2 and ||u||^2 once per step;
    ``signed_gradient_update`` gives u without copying it (SGD: -1 times its buffers).
    """
    from wdecay.monitors.base import signed_gradient_update, squared_norms

    steps = []

    class Check(M.Monitor):
        def on_batch_end(self, state):
            us, sign = signed_gradient_update(state)
            for u, x in zip(state.gradient_update, us):
                np.testing.assert_array_equal(u, sign * np.asarray(x))
            for key, arrays in (("before", state.weights_before), ("after", state.weights),
                                ("u", state.gradient_update)):
                assert squared_norms(state, key, arrays) == [
                    float(np.vdot(x, x)) for x in arrays], key
            steps.append(state.epoch)

    small_run([M.AngularUpdate(), M.NormBudget(), Check()], epochs=2, optimizer=optimizer)
    assert steps.count(1) == steps.count(2) == 6


@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e-10])
def test_balance_radial_gradient_keeps_its_digits_when_weights_are_tiny(scale):
    """-<W, grad C0> from the backward pass equals the direct product with the gradient,
    also where the weights are tiny against the biases (z - b then cancels)."""
    rng = np.random.default_rng(0)
    X, y = rng.random((200, 20)), rng.integers(0, 3, 200)
    net = wdecay.Network([20, 8, 3], seed=0)
    for w in net.weights:
        w *= scale
    for b in net.biases:
        b[:] = 3.0 + rng.random(b.shape)
    h = wdecay.fit(net, X, y, epochs=1, eta=1e-30, batch_size=20, regularizer=wdecay.L2(1.0),
                   monitors=[M.Balance()], backend="numpy")
    grad_w, _ = net.backprop(X, np.eye(3)[y])
    for l, (w, g) in enumerate(zip(net.weights, grad_w), 1):
        assert h[f"layer{l}/radial_gradient"][-1] == pytest.approx(
            -float(np.vdot(w, g)) / len(X), rel=1e-9, abs=0)
