"""The docs build without warnings, and every number they quote matches a fresh run."""

import contextlib
import io
import json
import math
import pathlib
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

DOCS = pathlib.Path(__file__).parents[1] / "docs"
FIGURES = DOCS / "figures"
EXERCISE = (DOCS / "exercise.rst").read_text()
NUMBER = re.compile(r"-?\d+\.\d+|\d+")


def test_docs_build_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(DOCS), str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "exercise.html").exists() and (tmp_path / "api.html").exists()


def test_seed_experiment_summary_is_reproduced():
    from wdecay.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["experiment", "--quiet"]) == 0
    fresh = [float(x) for x in NUMBER.findall(out.getvalue())]
    stored = [float(x) for x in NUMBER.findall((FIGURES / "seed_experiment_summary.txt").read_text())]
    assert len(fresh) == len(stored)
    np.testing.assert_allclose(fresh, stored, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("quote", ["0.9954", "0.2344", "0.235", "0.2221", "0.90%", "19 epochs",
                                   "0.137", "1.048", "0.8460", "1.0398", "4389.4", "8.93",
                                   "only 0.0012"])
def test_quoted_seed_numbers_come_from_the_summary(quote):
    summary = (FIGURES / "seed_experiment_summary.txt").read_text()
    assert quote in EXERCISE
    assert quote.replace("only ", "") in summary


def test_saturation_at_start_and_input_scale():
    import wdecay
    from wdecay import monitors as M
    from wdecay.datasets import load_mnist_sample

    (X, y), (Xv, yv), _ = load_mnist_sample()
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    h = net.fit(X, y, epochs=0, batch_size=10, eta=0.1, evaluation_data=(Xv, yv),
                monitors=[M.Saturation()])
    assert round(h["layer1/mean_fprime"][0], 3) == 0.046 and "0.046" in EXERCISE
    assert round(math.sqrt(np.mean(np.sum(Xv ** 2, axis=1))), 1) == 9.4 and "9.4" in EXERCISE


def tailoff_rows():
    return json.loads((FIGURES / "tailoff.json").read_text())


def test_tailoff_table_and_claims_match_the_stored_study():
    rows = tailoff_rows()
    for r in rows:
        line = (f"{r['lmbda']:<7g}  {r['plateau_rms']:<11.4f}  {r['tailoff_epoch']:<24g}  "
                f"{r['plateau_rms'] / r['ref_inv_sqrt_N']:<13.1f}  "
                f"{r['plateau_rms'] / r['ref_inv_sqrt_fan_in']:<15.2f}  "
                f"{r['plateau_rms'] / r['ref_inv_sqrt_input_power']:.2f}")
        assert line in EXERCISE, line
        assert r["ref_inv_sqrt_fan_in"] <= r["plateau_rms"] <= r["ref_inv_sqrt_input_power"]
        assert abs(r["R_final"] - 1) < 0.05  # levelled off: gradient balances decay
    ratios = [r["plateau_rms"] / r["ref_inv_sqrt_N"] for r in rows]
    assert f"{min(ratios):.1f} to {max(ratios):.1f} times" in EXERCISE
    slope = math.log(rows[0]["plateau_rms"] / rows[-1]["plateau_rms"]) / math.log(
        rows[-1]["lmbda"] / rows[0]["lmbda"])
    assert f"lambda^{{-{slope:.2f}}}" in EXERCISE


@pytest.mark.slow
def test_tailoff_study_reproduces_two_stored_rows():
    study = runpy.run_path(str(DOCS.parent / "examples" / "tailoff_study.py"))["study"]
    stored = {r["lmbda"]: r for r in tailoff_rows()}
    for fresh in study([40.0, 80.0], 150):
        old = stored[fresh["lmbda"]]
        for key in ("plateau_rms", "tailoff_epoch", "R_final"):
            assert fresh[key] == pytest.approx(old[key], rel=2e-3)


def test_float32_figures_in_the_docs_are_reproduced():
    sweeps = (DOCS / "sweeps.rst").read_text()
    runs, diff = runpy.run_path(str(DOCS.parent / "examples" / "float32_effect.py"))["main"]([])
    for r in runs.values():
        assert f"validation ({r['validation']:.3f})" in sweeps or f"{r['validation']:.3f}" in sweeps
        assert f"test ({r['test']:.3f})" in sweeps
    assert f"{runs['float32']['rms1']:.5f}" in sweeps and f"{runs['float64']['rms1']:.5f}" in sweeps
    assert f"{diff:.1e}" in sweeps
