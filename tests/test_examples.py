"""Every example runs with small settings (WDECAY_EXAMPLE_SMALL=1), exits 0 and writes what it promises.

seed_question.py, whose claim is about the data a user's machine has in reach, runs as
``python examples/seed_question.py`` in a subprocess; the others run their file as
``__main__`` in this process (:func:`run`), with the argv, working folder and environment
that command would have: the same script, without a fresh interpreter's ~1 s of imports.
"""

import contextlib
import io
import json
import os
import pathlib
import runpy
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def small_env(**env_changes):
    env = dict(os.environ, WDECAY_EXAMPLE_SMALL="1", MPLBACKEND="Agg", **env_changes)
    env.pop("WDECAY_DATA", None)
    return env


def run_as_user(name, cwd, *args, **env_changes):
    """``python examples/<name> *args`` in ``cwd``, in a subprocess; its stdout."""
    # BLAS on one thread, as in the test process (tests/conftest.py): training pins it anyway,
    # and the convex examples' solves ran 7x slower with two threads on a busy machine
    env = small_env(OPENBLAS_NUM_THREADS="1", **env_changes)
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def run(name, cwd, *args, **env_changes):
    """``python examples/<name> *args`` in ``cwd``, run in this process; its stdout.

    The file runs as ``__main__`` with that command's ``sys.argv``, ``sys.path[0]`` (the
    examples folder), working folder and environment (BLAS is on one thread here too,
    tests/conftest.py); an exception or a non-zero exit fails the test. The process's
    environment, folder, argv and path are restored afterwards.
    """
    path = EXAMPLES / name
    saved = dict(os.environ), os.getcwd(), sys.argv[:], sys.path[:]
    out = io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(small_env(**env_changes))
        os.chdir(cwd)
        sys.argv = [str(path), *args]
        sys.path.insert(0, str(EXAMPLES))
        with contextlib.redirect_stdout(out):
            try:
                runpy.run_path(str(path), run_name="__main__")
            except SystemExit as exc:
                assert exc.code in (None, 0), f"{name} exited with {exc.code!r}"
    finally:
        environ, cwd_before, sys.argv, sys.path[:] = saved
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd_before)
    return out.getvalue()


def test_seed_question(tmp_path):
    out = run_as_user("seed_question.py", tmp_path, HOME=str(tmp_path))  # no real data in reach
    assert not (tmp_path / "mnist.pkl.gz").exists()  # never under the real data set's name
    assert (tmp_path / "mnist_sample.pkl.gz").exists()
    assert out.count("training complete") == 2 and "Accuracy on evaluation data:" in out


def test_tailoff_study(tmp_path):
    pytest.importorskip("matplotlib")
    out = run("tailoff_study.py", tmp_path)
    assert "plateau RMS" in out
    assert (tmp_path / "tailoff" / "tailoff.json").exists()
    assert (tmp_path / "tailoff" / "tailoff.png").exists()


def test_custom_monitor(tmp_path):
    out = run("custom_monitor.py", tmp_path)
    assert "small weights" in out
    assert "layer1/frac_small" in (tmp_path / "custom_monitor" / "history.csv").read_text()


@pytest.mark.slow
def test_regularization_path(tmp_path):
    pytest.importorskip("matplotlib")
    out = run("regularization_path.py", tmp_path)
    assert "total norm grows as lmbda falls: True" in out
    for name in ("coefficient_paths.png", "path_norm.png", "ridge_example.png"):
        assert (tmp_path / "regularization_path" / name).exists()


def test_compare_l1_l2(tmp_path):
    pytest.importorskip("matplotlib")
    out = run("compare_l1_l2.py", tmp_path)
    assert "L1: eval accuracy" in out and "L2: eval accuracy" in out
    assert (tmp_path / "compare_l1_l2" / "layer1_rms.png").exists()


@pytest.mark.slow
def test_convex_bridge(tmp_path):
    out = run("convex_bridge.py", tmp_path, "--epochs", "4", "--checkpoints", "2")
    assert out.count("|W - W*|") == 2


def test_float32_effect(tmp_path):
    out = run("float32_effect.py", tmp_path)
    assert "float32: validation" in out and "largest weight difference" in out


def test_coupled_vs_decoupled(tmp_path):
    """AdamW's decay is its factor's prediction; coupled Adam's is many times larger."""
    out = run("coupled_vs_decoupled.py", tmp_path)
    blocks = out.split("\n\n")
    adamw = [b for b in blocks if b.startswith("AdamW")][0].splitlines()
    steps, eta, lmbda, n = 100, 0.001, 5.0, 1000  # small mode: 1,000 digits, batch 10
    predicted = 1 - (1 - eta * lmbda / n) ** (2 * steps)
    first = adamw[2].split()
    assert float(first[3]) == pytest.approx(predicted, rel=0.05)
    ratios = [float(v.strip(",")) for v in out.strip().splitlines()[-1].split()[-4::3]]
    assert all(r > 5 for r in ratios), ratios


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["--plateau-only"]])
def test_predict_tailoff(tmp_path, args):
    out = run("predict_tailoff.py", tmp_path, *args)
    assert "plateau pred" in out and out.count("\n") >= 3
    rows = json.loads((tmp_path / "predict_tailoff" / "predict_tailoff.json").read_text())
    assert [r["layer"] for r in rows] == [1, 2]
    assert all(r["measured_plateau"] > 0 for r in rows)
    if args:  # no norm budget: the tail-off epoch is not measured (null), never made up
        assert all(r["measured_tailoff"] is None for r in rows)


@pytest.mark.slow
def test_noise_share(tmp_path):
    out = run("noise_share.py", tmp_path)
    assert "Q/(-D) predicted" in out
    rows = json.loads((tmp_path / "noise_share" / "noise_share.json").read_text())
    assert [r["layer"] for r in rows] == [1, 2]
    assert all(0 < r["noise_share"] < 1 and r["stationary_rms"] > 0 for r in rows)


@pytest.mark.slow
def test_predict_tailoff_with_a_warm_start(tmp_path):
    run("predict_tailoff.py", tmp_path, "--warm-start", "1")
    rows = json.loads((tmp_path / "predict_tailoff" / "predict_tailoff_warm1.json").read_text())
    assert [r["warm_start_epochs"] for r in rows] == [1, 1]
    assert all(r["cold_stationary_rms"] > 0 and r["objective"] > 0 for r in rows)


def test_adaptive_eta(tmp_path):
    out = run("adaptive_eta.py", tmp_path, "--etas", "0.1", "0.001", "--optimizers", "adamw",
              "--out", "rows.json")
    assert out.splitlines()[0].split()[:4] == ["optimizer", "eta", "test", "acc"]
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert [(r["optimizer"], r["eta"]) for r in rows] == [("adamw", 0.1), ("adamw", 0.001)]
    assert all(len(r["factors"]) == 2 for r in rows)
