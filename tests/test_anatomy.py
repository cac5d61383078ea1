"""AngularUpdate against direct numpy, and every number docs/concepts.rst quotes from
examples/decay_anatomy.py.

The epoch-0 and epoch-1 quotes are checked by fast tests (one epoch of training);
the plateau quotes against docs/figures/decay_anatomy.json, the stored output of
``python docs/make_figures.py`` (150 epochs at lmbda = 5, 20 and 50), and the slow
test (``pytest -m slow``) re-runs lmbda = 50 and compares it with the stored row.
"""

import math
import os
import pathlib
import runpy
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import make_data

import wdecay
from wdecay import monitors as M
from wdecay.monitors.angular import step_angle

ROOT = pathlib.Path(__file__).parents[1]
CONCEPTS = (ROOT / "docs" / "concepts.rst").read_text()
SECTION = CONCEPTS[CONCEPTS.index("What weight decay does in this network"):
                   CONCEPTS.index("Coupled against decoupled decay")]
FLAT = " ".join(SECTION.split())


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_angular(weights, biases, X, labels, *, epochs, batch_size, eta, lmbda, seed):
    """Nielsen's L2 SGD for a sigmoid, cross-entropy network, written out in numpy.

    Returns per epoch and layer the means over its steps of the angle between
    W_t and W_{t+1} (by arccos), the gradient and decay step norms and the
    cosine between W_t and -eta g. Same shuffling as ``fit``: one
    ``default_rng(seed).permutation(n)`` per epoch.
    """
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    Y = np.eye(weights[-1].shape[0])[labels]
    n, rng, out = len(X), np.random.default_rng(seed), []
    for _ in range(epochs):
        order, rows = rng.permutation(n), []
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            acts = [X[batch]]
            for w, b in zip(weights, biases):
                acts.append(sigmoid(acts[-1] @ w.T + b))
            delta, gw, gb = acts[-1] - Y[batch], [], []
            for l in reversed(range(len(weights))):
                gw.insert(0, delta.T @ acts[l] / len(batch))
                gb.insert(0, delta.mean(axis=0))
                delta = (delta @ weights[l]) * acts[l] * (1 - acts[l])
            row = []
            for l, (w, g) in enumerate(zip(weights, gw)):
                new = (1 - eta * lmbda / n) * w - eta * g
                cos = np.vdot(w, new) / (np.linalg.norm(w) * np.linalg.norm(new))
                row.append((np.arccos(min(cos, 1.0)), eta * np.linalg.norm(g),
                            eta * lmbda / n * np.linalg.norm(w),
                            np.vdot(w, -g) / (np.linalg.norm(w) * np.linalg.norm(g))))
                weights[l], biases[l] = new, biases[l] - eta * gb[l]
            rows.append(row)
        out.append(np.mean(rows, axis=0))  # (layers, 4)
    return np.array(out)


# n >= 5 and lmbda <= 4 keep the decay factor 1 - eta lmbda / n positive
@given(sizes=st.lists(st.integers(2, 6), min_size=2, max_size=4), n=st.integers(5, 40),
       batch=st.integers(1, 12), lmbda=st.floats(0.0, 4.0), seed=st.integers(0, 2**32 - 1))
def test_angular_update_matches_numpy(sizes, n, batch, lmbda, seed):
    X, y = make_data(sizes, n, seed)
    net = wdecay.Network(sizes, initializer="large", seed=seed)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    h = net.fit(X, y, epochs=2, batch_size=batch, eta=0.5, regularizer=wdecay.L2(lmbda),
                monitors=[M.AngularUpdate()], seed=seed)
    expected = numpy_angular(w0, b0, X, y, epochs=2, batch_size=batch, eta=0.5, lmbda=lmbda,
                             seed=seed)
    for l in range(1, len(sizes)):
        got = np.array([[h[f"layer{l}/{k}"][e] for k in ("angle", "grad_step", "decay_step",
                                                         "grad_cos")] for e in (1, 2)])
        np.testing.assert_allclose(got, expected[:, l - 1], rtol=1e-7, atol=1e-12)
        abs_cos = np.array(h[f"layer{l}/grad_abs_cos"][1:])
        assert np.all(abs_cos >= np.abs(got[:, 3]) - 1e-15) and np.all(abs_cos <= 1 + 1e-12)
        assert np.all(np.array(h[f"layer{l}/angle_rms"][1:]) >= got[:, 0] * (1 - 1e-12))


def test_angle_rms_against_numpy_and_nan_before_training():
    X, y = make_data([5, 4, 3], 12, 1)
    net = wdecay.Network([5, 4, 3], initializer="large", seed=1)
    angles = []

    def record(state):
        angles.append([float(np.arccos(np.clip(
            np.vdot(b, a) / (np.linalg.norm(b) * np.linalg.norm(a)), -1, 1)))
            for b, a in zip(state.weights_before, state.weights)])

    h = net.fit(X, y, epochs=1, batch_size=4, eta=1.0, regularizer=wdecay.L2(2.0), seed=1,
                monitors=[M.AngularUpdate(), M.LambdaMonitor(on_batch_end=record)])
    rms = np.sqrt(np.mean(np.square(angles), axis=0))
    for l in (1, 2):
        assert h[f"layer{l}/angle_rms"][1] == pytest.approx(rms[l - 1], rel=1e-9)
        assert all(math.isnan(h[f"layer{l}/{k}"][0]) for k in M.angular.KEYS)


@given(theta=st.floats(1e-12, 3.1), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**32 - 1),
       size=st.integers(2, 50))
def test_step_angle_is_accurate_for_tiny_and_large_angles(theta, scale, seed, size):
    u, v = np.linalg.qr(np.random.default_rng(seed).standard_normal((size, 2)))[0].T
    after = scale * (math.cos(theta) * u + math.sin(theta) * v)
    assert step_angle(2.0 * u, after) == pytest.approx(theta, rel=1e-9)


def test_step_angle_of_a_zero_array_is_nan():
    assert math.isnan(step_angle(np.zeros(3), np.ones(3)))


def test_example_small_mode_writes_its_json(tmp_path):
    env = dict(os.environ, WDECAY_EXAMPLE_SMALL="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "decay_anatomy.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "sqrt(2ηλ/n)" in proc.stdout and "sigma'(z)" in proc.stdout
    rows = __import__("json").loads((tmp_path / "decay_anatomy" / "decay_anatomy.json").read_text())
    assert [r["lmbda"] for r in rows] == [5.0] and rows[0]["layer1"]["plateau"]["angle"] > 0


# --- the numbers docs/concepts.rst quotes -------------------------------------------------

def anatomy_rows(lmbdas, epochs, window):
    from wdecay.datasets import load_mnist_sample

    anatomy = runpy.run_path(str(ROOT / "examples" / "decay_anatomy.py"))["anatomy"]
    (X, y), (Xv, yv), _ = load_mnist_sample()
    return {lmbda: anatomy(X, y, Xv, yv, lmbda, epochs, window) for lmbda in lmbdas}


def quoted(text):
    """Assert that ``text`` appears in the section, whitespace aside."""
    text = " ".join(text.split())
    assert text in FLAT, text


def test_epoch_one_quotes():
    r = anatomy_rows([5.0], 1, 1)[5.0]
    one, out = r["layer1"]["epoch1"], r["layer2"]
    quoted(f"averages {one['grad_step'] / one['decay_step']:.1f} times its decay step")
    quoted(f"({1 / one['rho']:.1f} as the inverse of")
    quoted(f"cosine with :math:`W` averages {one['grad_cos']:.4f}")
    quoted(f"mean :math:`|\\cos|` {one['grad_abs_cos']:.4f}")
    quoted(f"its norm-budget ratio :math:`R` for the epoch is {one['R']:.3f}")
    quoted(f"up from {r['fprime_start']:.3f} at the start")
    quoted(f"from {out['mean_start']:.4f} at the start")
    quoted(f"mean {out['bias_mean_start']:.3f} at the start")
    assert one["grad_step"] / one["decay_step"] > 5 and abs(one["grad_abs_cos"]) < 0.002


def test_rotational_angle_arithmetic():
    quoted(f":math:`\\sqrt{{2\\eta\\lambda/n}}` = {math.sqrt(2 * 0.1 * 5 / 4000):.4f} at lmbda = 5")


STORED = ROOT / "docs" / "figures" / "decay_anatomy.json"


@pytest.fixture(scope="module")
def plateau_rows():
    rows = __import__("json").loads(STORED.read_text())
    return {r["lmbda"]: r for r in rows}


@pytest.mark.slow
def test_stored_anatomy_is_reproduced(plateau_rows):
    fresh = anatomy_rows([50.0], 150, 30)[50.0]
    old = plateau_rows[50.0]
    for l in (1, 2):
        for key in ("angle", "angle_rms", "Q_ratio", "kappa", "R", "mean"):
            assert fresh[f"layer{l}"]["plateau"][key] == pytest.approx(
                old[f"layer{l}"]["plateau"][key], rel=2e-3, abs=1e-5), (l, key)
    assert fresh["fprime_plateau"] == pytest.approx(old["fprime_plateau"], rel=2e-3)


def test_plateau_quotes(plateau_rows):
    for lmbda, r in plateau_rows.items():
        for l in (1, 2):
            p = r[f"layer{l}"]["plateau"]
            ratio2 = (p["angle_rms"] / r["rotational_angle"]) ** 2
            quoted(f"{lmbda:g} {l} {p['angle']:.4f} {p['angle_rms']:.4f} "
                   f"{r['rotational_angle']:.4f} {ratio2:.3f} {p['Q_ratio']:.3f} "
                   f"{p['kappa']:.3f} {p['R']:.3f}")
            assert abs(ratio2 - p["Q_ratio"]) < 0.005  # the identity the text explains
            assert abs(p["R"] - 1) < 0.01  # levelled off
            assert p["angle"] < 0.3 * r["rotational_angle"]  # far from rotational equilibrium
    cosines = [r[f"layer{l}"]["plateau"]["grad_abs_cos"] for r in plateau_rows.values()
               for l in (1, 2)]
    quoted(f"is {min(cosines):.3f} to {max(cosines):.3f}, so the parallel part is at most "
           f"about {100 * max(cosines) ** 2:.0f}% of the")
    five = plateau_rows[5.0]
    quoted(f"layer 1 turns by {five['layer1']['plateau']['angle']:.4f} rad per step")
    q1 = [100 * r["layer1"]["plateau"]["Q_ratio"] for r in plateau_rows.values()]
    q2 = [100 * r["layer2"]["plateau"]["Q_ratio"] for r in plateau_rows.values()]
    quoted(f"{q1[0]:.1f}% for layer 1 and {q2[0]:.1f}% for the output layer")
    quoted(f"{min(q1):.1f} to {max(q1):.1f}% and {min(q2):.1f} to {max(q2):.1f}%")
    quoted(f"(:math:`\\kappa` = {five['layer1']['plateau']['kappa']:.2f} for layer 1")
    fp = [r["fprime_plateau"] for r in plateau_rows.values()]
    quoted(f"on the validation digits is {fp[0]:.3f}")
    quoted(f"{100 * five['saturated_end']:.0f}% of the hidden weighted inputs")
    quoted(f"({fp[1]:.3f} and {fp[2]:.3f} at lmbda = 20 and 50)")
    out = five["layer2"]
    quoted(f"to {out['mean_extreme']:.4f} at epoch {out['mean_extreme_epoch']}")
    quoted(f"{abs(out['mean_extreme']) / out['stderr_extreme']:.1f} standard errors")
    quoted(f"recedes to {out['plateau']['mean']:.4f} at the plateau")
    quoted(f"{out['units_negative_end']} of the 10 output units")
    quoted(f"At epoch 150 the mean weight is still "
           f"{abs(out['mean_end']) / out['stderr_end']:.1f} standard errors below 0")
    assert out["mean_end"] < 0
    quoted(f"mean {out['bias_mean_start']:.3f} at the start, "
           f"{out['bias_mean_end']:.3f} at epoch 150")
    assert out["bias_mean_end"] < out["bias_mean_start"] - 2
    for lmbda in (20.0, 50.0):  # there the output layer's mean is within one standard error of 0
        o = plateau_rows[lmbda]["layer2"]
        assert abs(o["plateau"]["mean"]) < o["stderr_end"]
