"""The docs' quoted numbers that tests/test_docs.py, test_anatomy.py and test_float32.py do not
check: each is read off a stored file in docs/figures/, a constant of the package, a cheap
fresh run (at most a second or two), or is the arithmetic of the page's own figures.

Timings from benchmarks/ are not re-measured: the pages mark them as measured once and
illustrative, and ``test_benchmark_timings_are_marked_illustrative`` checks that marking.
Each test's docstring names the quotes it checks (issue 21).
"""

import json
import math
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURES = DOCS / "figures"


def sci(x, digits=0):
    """``x`` as the pages write it: 6e-8, 1.0e-3 (no zero-padded exponent)."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{x:.{digits}e}").replace("e+", "e")


def flat(page):
    return " ".join((DOCS / page).read_text().split())


def stored(name):
    return json.loads((FIGURES / name).read_text())


# --- exercise.rst ---------------------------------------------------------------------------

def test_the_page_says_what_is_checked():
    """exercise.rst names the two test files and the number of illustrative quotes."""
    text = flat("exercise.rst")
    assert ("``tests/test_docs.py`` and ``tests/test_docs_numbers.py`` check each quoted number "
            "against its source, except the one marked illustrative") in text
    assert text.count("illustrative") == 1 + 1  # this sentence and the one mark


def test_pure_decay_per_epoch_arithmetic():
    """exercise.rst: e^{-eta lmbda/m} = e^{-0.05} per epoch, e^{-1.5} = 0.22 after 30."""
    text = flat("exercise.rst")
    per_epoch = 0.1 * 5 / 10
    assert f":math:`e^{{-{per_epoch:g}}}` per epoch" in text
    assert (f":math:`e^{{-{30 * per_epoch:g}}} = {math.exp(-30 * per_epoch):.2f}` after 30 "
            "epochs") in text


def test_total_weights_and_their_reference_level():
    """exercise.rst: N = 23,820 and 1/sqrt(N) = 0.0065."""
    import wdecay

    net = wdecay.Network([784, 30, 10])
    n = sum(w.size for w in net.weights)
    assert f"N = {n // 1000}{{,}}{n % 1000:03d}" in flat("exercise.rst")
    assert f"1/\\sqrt{{N}} = {1 / math.sqrt(n):.4f}" in flat("exercise.rst")


def test_output_layer_budget_ratio_from_epoch_two_on():
    """exercise.rst: the output layer's R is -2.764 in epoch 1, above 0.5 from epoch 2 on and
    1.048 after 30 epochs (a fresh run of the default experiment, ``wdecay experiment``,
    whose NormBudget records R; made once per session, tests/seed_runs.py)."""
    from seed_runs import seed_experiment

    _, _, settings, h = seed_experiment()
    seed = {"sizes": [784, 30, 10], "init": "large", "cost": "cross-entropy",
            "activation": "sigmoid", "regularizer": "l2", "lmbda": 5.0, "eta": 0.1,
            "batch_size": 10, "epochs": 30, "seed": 0, "optimizer": "sgd",
            "dataset": "mnist-sample"}
    assert {k: settings[k] for k in seed} == seed  # the seed question's training
    r2 = np.asarray(h["layer2/R"])
    text = flat("exercise.rst")
    assert f"In epoch 1 its :math:`R` is {r2[1]:.3f}" in text
    assert np.all(r2[2:] > 0.5) and r2[1] < 0.5
    assert "From epoch 2 on its :math:`R` is above 0.5" in text
    assert f"epochs it is {r2[30]:.3f}" in text
    assert f"its :math:`R` is still {h['layer1/R'][30]:.3f} after 30 epochs" in text


def test_stored_stationary_points_against_todays_solve():
    """exercise.rst: the prediction table's stationary points lie within 1.20% of today's
    (noise_share.json), worst at lmbda 20, layer 2: 0.6706 against 0.6787."""
    text = flat("exercise.rst")
    first = {(r["lmbda"], r["layer"]): r for r in stored("predict_tailoff.json")
             if r["init"] == "N(0,1)" and r["eta"] == 0.1}
    drifts = [(abs(s["stationary_rms"] / first[s["lmbda"], s["layer"]]["predicted_plateau"] - 1),
               s, first[s["lmbda"], s["layer"]]) for s in stored("noise_share.json")]
    worst, today, old = max(drifts, key=lambda d: d[0])
    assert f"lies within {100 * worst:.2f}% of them" in text
    assert f"within {100 * worst:.2f}% of the first table's" in text
    assert (f"lmbda {today['lmbda']:g}, layer {today['layer']}: {today['stationary_rms']:.4f} "
            f"against {old['predicted_plateau']:.4f}") in text
    # the slow re-run's row (tests/test_docs.py checks the fresh 0.4878 and the 0.39%)
    row = next(r for r in stored("predict_tailoff.json") if r["lmbda"] == 50
               and r["init"] == "1/sqrt(n_in)" and r["layer"] == 2)
    assert f"lmbda 50, 1/sqrt(n_in), layer 2, 0.4878 against {row['predicted_plateau']:.4f}" in text


def test_prediction_page_cross_references():
    """exercise.rst: predictions.rst checks 19 configurations; the noise model held at a
    share of 0.86 (batch 1) and at Fashion-MNIST's 2.45 at the book's lmbda/n, within 3.3%
    there in both layers (said twice: in "SGD's noise" and in "The book's lmbda/n")."""
    rows = stored("prediction_table.json")
    text = flat("exercise.rst")
    assert f"checks that version on {len({r['config'] for r in rows})} configurations" in text
    by = {(r["config"], r["layer"]): r for r in rows}
    batch1 = by["batch 1, lmbda 10", 1]
    assert abs(batch1["measured_plateau"] / batch1["predicted_plateau"] - 1) <= 0.10  # it held
    assert f"a share of {batch1['noise_share']:.2f} (batch 1)" in text
    fashion = by["Fashion 50k, book's lmbda/n", 1]
    miss = max(abs(by["Fashion 50k, book's lmbda/n", layer]["measured_plateau"]
                   / by["Fashion 50k, book's lmbda/n", layer]["predicted_plateau"] - 1)
               for layer in (1, 2))
    assert (f"at {fashion['noise_share']:.2f} (Fashion-MNIST at the book's lmbda/n, below, "
            f"within {100 * miss:.1f}% in both layers)") in text
    assert (f"model it gives a number within {100 * miss:.1f}% of the measured plateau in both "
            "layers") in text


def test_fashion_climb_back_span():
    """exercise.rst: layer 1 overshoots to its low in epoch 58, then climbs back over the next
    300 epochs (to epoch 400, rounded to a hundred)."""
    one = stored("predict_tailoff_fashion.json")[0]
    low = int(np.argmin(one["rms_curve"]))
    span = len(one["rms_curve"]) - 1 - low
    assert f"climbs back over the next {round(span, -2)} epochs" in flat("exercise.rst")


def test_convex_coefficient_rises_then_falls():
    """exercise.rst: in correlated_ridge_example one coefficient's magnitude rises from 0.089
    to 0.363 and falls to 0.020 as lmbda grows."""
    from wdecay.convex import correlated_ridge_example, regularization_path

    X, y, lmbdas = correlated_ridge_example()
    path = regularization_path(X, y, lmbdas, model="ridge")
    w = np.abs(path.weights[::-1, 0, 1])  # increasing lmbda
    assert (f"rises from {w[0]:.3f} to {w.max():.3f} and then falls to {w[-1]:.3f}"
            in flat("exercise.rst"))


# --- concepts.rst ---------------------------------------------------------------------------

def test_concepts_sample_against_the_books_lmbda_over_n():
    """concepts.rst: the sample's lmbda/n is 12.5 times the book's."""
    ratio = (5 / 4000) / (5 / 50000)
    assert f"lmbda/n is {ratio:g} times the book's" in flat("concepts.rst")


# --- optimizers.rst -------------------------------------------------------------------------

def page_table(page):
    """{run: (layer-1 RMS, layer-1 decay, layer-2 RMS, layer-2 decay)} of optimizers.rst."""
    rows = {}
    for m in re.finditer(r"^(\w+), epoch (\d+)\s+\S+\s+([\d.]+), ([\d.e+-]+)\s+([\d.]+), "
                         r"([\d.e+-]+)\s*$", page, re.M):
        rows[m[1], int(m[2])] = tuple(float(x) for x in m.group(3, 4, 5, 6))
    return rows


def test_optimizers_decay_arithmetic_and_table_quotes():
    """optimizers.rst: 400 steps, AdamW's 1.0e-3 per epoch, SGD's 9.5e-2, a hundred times,
    ten times SGD's rate at mu = 0.9, and layer 1 under Adam falling from 1 to 0.36.
    The table itself is checked against a fresh run by tests/test_docs.py (slow)."""
    page = (DOCS / "optimizers.rst").read_text()
    text = " ".join(page.split())
    steps = 4000 // 10
    assert f"over the epoch's {steps} steps" in text
    adamw = 1 - (1 - 0.001 * 5 / 4000) ** (2 * steps)
    assert f"(1 - eta lmbda/n)^(2 x {steps}) = {sci(adamw, 1)} per epoch in both layers" in text
    table = page_table(page)
    assert len(table) == 6
    for epoch in (1, 10):  # the measured decay of both layers is what the factor predicts
        for col in (1, 3):
            assert abs(table["AdamW", epoch][col] / adamw - 1) < 0.03, (epoch, col)
    sgd = {sci(table["SGD", epoch][1], 1) for epoch in (1, 10)}
    assert sgd == {"9.5e-2"} and "SGD's 9.5e-2" in text
    assert abs(9.5e-2 / adamw / 100 - 1) < 0.1 and "a hundred times less" in text
    assert 0.1 / 0.001 == 100 and "eta is a hundred times smaller" in text
    assert round(1 / (1 - 0.9)) == 10 and "ten times at mu = 0.9" in text
    start, end = 0.9954, table["Adam", 10][0]
    assert f"Layer 1's RMS falls from {start:.0f} to {end:.2f} in 10 epochs" in text
    assert end < table["SGD", 10][0]  # faster than under SGD


# --- sweeps.rst -----------------------------------------------------------------------------

def test_lockstep_matches_fit_to_about_1e15():
    """sweeps.rst: network k of train_many ends where fit ends, measured about 1e-15 relative
    (numpy lockstep, 3 networks, 500 digits, one epoch: about 0.4 s)."""
    import wdecay
    from wdecay.datasets import load_mnist_sample
    from wdecay.sweep import train_many

    (X, y), _, _ = load_mnist_sample()
    X, y = X[:500], y[:500]
    configs = [dict(eta=0.1, lmbda=lm, initializer="large", init_seed=0) for lm in (1, 5, 20)]
    nets, _ = train_many(X, y, configs, sizes=[784, 30, 10], epochs=1, batch_size=10, seed=0,
                         backend="numpy")
    worst = 0.0
    for c, net in zip(configs, nets):
        ref = wdecay.Network([784, 30, 10], initializer="large", seed=0)
        ref.fit(X, y, epochs=1, batch_size=10, eta=0.1, regularizer=wdecay.L2(c["lmbda"]), seed=0)
        for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
            worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    assert worst < 1e-14
    assert "(the tests demand 1e-10 relative; measured about 1e-15" in flat("sweeps.rst")


def test_input_size_and_csr_entry_arithmetic():
    """sweeps.rst and speed.rst: 50,000 x 784 float64 inputs are 313 MB (313.6, written
    truncated, as benchmarks/sweep_speed.py prints it); a CSR entry is
    12 bytes in float64 and 8 in float32 (a value and a 4-byte column index)."""
    mb = 50000 * 784 * 8 / 1e6
    for page in ("sweeps.rst", "speed.rst"):
        assert f"{math.floor(mb)} MB" in flat(page)
    index = np.dtype(np.int32).itemsize
    assert (f"{8 + index} bytes each in float64, {4 + index} in float32"
            in flat("sweeps.rst"))


def test_fit_preparation_arithmetic_against_the_speed_page():
    """sweeps.rst: 4.27 / 16 = 0.27 s per fit epoch against speed.rst's 0.17 s kernel epoch
    (both timings illustrative; this checks the arithmetic and the cross-reference)."""
    sweeps, speed = flat("sweeps.rst"), flat("speed.rst")
    fit = float(re.search(r"one by one, ``fit``, numba backend\s+([\d.]+)",
                          (DOCS / "sweeps.rst").read_text())[1])
    assert f"costs {fit:.2f} / 16 = {fit / 16:.2f} s" in sweeps
    kernel = float(re.search(r"Fashion float64 10 [\d.]+ [\d.]+ ([\d.]+)", speed)[1])
    assert f"against the {kernel:.2f} s of the kernel's epoch alone" in sweeps


# --- speed.rst ------------------------------------------------------------------------------

def test_density_thresholds_and_the_mnist_sample_density():
    """speed.rst: the CSR thresholds 20% / 17% (0.20, 0.17) are SPARSE_DENSITY; the MNIST
    sample is 19% non-zero (density 0.193)."""
    from wdecay.datasets import load_mnist_sample
    from wdecay.numba_backend import SPARSE_DENSITY

    text = flat("speed.rst")
    f64, f32 = SPARSE_DENSITY[np.float64], SPARSE_DENSITY[np.float32]
    assert f"fewer than {100 * f64:.0f}% (float64) or {100 * f32:.0f}% (float32)" in text
    assert f"{f32:.2f} in float32, and {f64:.2f} in float64" in text
    parts = load_mnist_sample()  # all 5,000 digits, the rows "MNIST x10" tiles
    density = float(np.mean(np.vstack([X for X, _ in parts]) != 0))
    assert f"MNIST sample ({100 * density:.0f}% non-zero)" in text
    assert f"({100 * density:.0f}% non-zero:" in text
    assert f"the MNIST sample (density {density:.3f})" in text
    assert density < f64  # so it runs the CSR path in float64, as the page says


def test_float32_rounding_and_the_thread_tolerance():
    """speed.rst: float32 rounds by 6e-8 per operation; tests/test_silent_wrong.py allows
    1e-13 between thread counts, about 300 times the (illustrative) measured 3.38e-16."""
    text = flat("speed.rst")
    assert f"whose rounding is {sci(np.finfo(np.float32).eps / 2)} per operation" in text
    source = (ROOT / "tests" / "test_silent_wrong.py").read_text()
    rtol = float(re.search(r"^THREADS_RTOL = (\S+)", source, re.M)[1])
    assert f"at most {sci(rtol)} between 1 and 2 threads" in text
    measured = float(re.search(r"differ, relative ([\d.e-]+)", text)[1])
    assert f"about {round(rtol / measured, -2):.0f} times the measured difference" in text


BENCHMARK_MARKS = {
    "speed.rst": ["benchmarks/epoch_speed.py", "benchmarks/gemm_orientation.py",
                  "benchmarks/numba_density.py", "benchmarks/thread_reproducibility.py"],
    "sweeps.rst": ["benchmarks/sweep_speed.py"],
}


@pytest.mark.parametrize("page", sorted(BENCHMARK_MARKS))
def test_benchmark_timings_are_marked_illustrative(page):
    """Timings cannot be re-measured in a test: each benchmark's figures are marked in the page
    as measured once, by the named script on a named date, and illustrative."""
    text = flat(page)
    for script in BENCHMARK_MARKS[page]:
        assert re.search(rf"(?i)measured once with ``{re.escape(script)}`` on \d{{4}}-\d\d-\d\d"
                         rf"[^.]*; illustrative", text), script


def test_exercise_names_the_solver_predict_tailoff_uses():
    """exercise.rst: the stationary point is found by wdecay's own L-BFGS (scipy's L-BFGS-B
    was replaced), FISTA under L1."""
    import inspect

    from wdecay import equilibrium

    text = flat("exercise.rst")
    assert "with L-BFGS (wdecay's own, in float32; FISTA under L1;" in text
    assert "scipy's L-BFGS" not in text
    assert "_lbfgs(" in inspect.getsource(equilibrium._search)
    assert "_proximal if l1 else _search" in inspect.getsource(equilibrium._stationary)
    assert inspect.signature(equilibrium.predict_tailoff).parameters["dtype"].default == "float32"
