"""Regenerate every figure and number quoted in the docs.

    python docs/make_figures.py            # summary, plots and tail-off study (minutes)
    python docs/make_figures.py --plots    # only the three plots of the default experiment
    python docs/make_figures.py --predict  # also the prediction sweep (hours on 2 busy cores)
    python docs/make_figures.py --fashion  # also Fashion-MNIST at the book's lmbda/n (about 20
                                           # minutes; needs Fashion-MNIST installed)

Writes into docs/figures/:

- ``seed_experiment_summary.txt`` and ``layer_norms.png``, ``norm_budget.png``,
  ``sum_vs_abs.png``: the default ``wdecay experiment --quiet``;
- ``tailoff.json``, ``tailoff.png``: examples/tailoff_study.py, lmbda 5, 10, 20,
  40, 80 for 150 epochs;
- ``decay_anatomy.json``: examples/decay_anatomy.py, angles, step sizes,
  saturation and the noise share at lmbda 5, 20 and 50 (quoted in concepts.rst);
- ``predict_tailoff.json``: examples/predict_tailoff.py, the predicted against
  the measured plateau and tail-off epoch (its table in exercise.rst is
  :func:`validation_table`).
- ``predict_tailoff_warm2.json``: the same sweep, solved after a two-epoch SGD
  warm start, predict_tailoff's default (``--predict``);
- ``noise_share.json``: examples/noise_share.py, each layer's predicted noise
  share Q/(-D) at the stationary point, lmbda 2, 5, 20 and 50 (``--predict``);
- ``predict_tailoff_fashion.json``: the same on Fashion-MNIST's first 50,000
  training images at lmbda = 5 (lmbda/n = 1e-4, the book's), 400 epochs, and
  ``predict_tailoff_fashion_warm2.json`` with the default warm start.

tests/test_docs.py checks the quoted numbers against these files and, in
slow tests, against fresh runs.
"""

import contextlib
import io
import math
import os
import runpy
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")
EXAMPLES = os.path.join(HERE, "..", "examples")
TAILOFF_ARGS = ["--lmbdas", "5", "10", "20", "40", "80", "--epochs", "150", "--out", FIGURES]


def _fmt(x, spec):
    return "--" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def pure_decay_epochs(rms0, level, eta, lmbda, n, m):
    """Epochs of pure L2 decay, at the exact per-step factor, from ``rms0`` down to ``level``."""
    return math.log(rms0 / level) / (-math.ceil(n / m) * math.log1p(-eta * lmbda / n))


def tailoff_row(r, rms0):
    """One line of exercise.rst's tail-off table for a row of tailoff.json."""
    t = pure_decay_epochs(rms0, r["plateau_rms"], 0.1, r["lmbda"], r["lmbda"] / r["lmbda_over_n"], 10)
    return (f"{r['lmbda']:<7g}  {r['plateau_rms']:<11.4f}  {r['tailoff_epoch']:<24g}  "
            f"{t:<19.1f}  {r['plateau_rms'] / r['ref_inv_sqrt_N']:.1f}")


def validation_row(r):
    """One line of exercise.rst's prediction table for a row of predict_tailoff.json."""
    err = None if r["predicted_plateau"] is None else 100 * r["plateau_error"]
    return (f"{r['lmbda']:<6g} {r['init']:<13} {r['eta']:<5g} {r['layer']:<5} "
            f"{r['rms_initial']:<7.4f} {_fmt(r['predicted_plateau'], '.4f'):<9} "
            f"{r['measured_plateau']:<8.4f} {_fmt(err, '+.1f'):<6} "
            f"{_fmt(r['predicted_tailoff'], '.1f'):<7} {_fmt(r['measured_tailoff'], 'g'):<5} "
            f"{r['epochs']}")


def validation_table(rows):
    """exercise.rst's prediction table, as RST lines."""
    rule = "====== ============= ===== ===== ======= ========= ======== ====== ======= ===== ======"
    head = ("lmbda  init          eta   layer start   predicted measured error% t* pred meas  "
            "epochs")
    return [rule, head, rule, *(validation_row(r) for r in rows), rule]


def noise_table(shares, anatomy):
    """exercise.rst's noise-share table: noise_share.json rows against decay_anatomy.json."""
    measured = {(r["lmbda"], l): r[f"layer{l}"]["plateau"]["Q_ratio"]
                for r in anatomy for l in (1, 2)}
    rule = "=====  =====  ==============  ==========================  ========================"
    head = "lmbda  layer  stationary RMS  Q/(-D) predicted (before)   Q/(-D) at SGD's plateau"
    rows = [f"{r['lmbda']:<5g}  {r['layer']:<5}  {r['stationary_rms']:<14.4f}  "
            f"{r['noise_share']:<26.4f}  "
            f"{_fmt(measured.get((r['lmbda'], r['layer'])), '.4f')}" for r in shares]
    return [rule, head, rule, *rows, rule]


PLOTS = ("layer_norms.png", "norm_budget.png", "sum_vs_abs.png")


def default_experiment(summary=True):
    """The default ``wdecay experiment --quiet``: its plots and (with ``summary``) its summary."""
    from wdecay.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            cli(["experiment", "--out", tmp, "--quiet"])
        if summary:
            lines = text.getvalue().splitlines(keepends=True)
            kept = "".join(line for line in lines if not line.startswith("Wrote "))
            with open(os.path.join(FIGURES, "seed_experiment_summary.txt"), "w") as fh:
                fh.write(kept)
        for name in PLOTS:
            shutil.copy(os.path.join(tmp, name), os.path.join(FIGURES, name))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    os.makedirs(FIGURES, exist_ok=True)
    if "--plots" in argv:
        default_experiment(summary=False)
        return
    default_experiment()
    sys.argv = ["tailoff_study.py", *TAILOFF_ARGS]
    runpy.run_path(os.path.join(EXAMPLES, "tailoff_study.py"), run_name="__main__")
    sys.argv = ["decay_anatomy.py", "--out", FIGURES]
    runpy.run_path(os.path.join(EXAMPLES, "decay_anatomy.py"), run_name="__main__")
    if "--predict" in argv:
        sys.argv = ["predict_tailoff.py", "--out", FIGURES]
        runpy.run_path(os.path.join(EXAMPLES, "predict_tailoff.py"), run_name="__main__")
        sys.argv = ["predict_tailoff.py", "--warm-start", "2", "--out", FIGURES]
        runpy.run_path(os.path.join(EXAMPLES, "predict_tailoff.py"), run_name="__main__")
        sys.argv = ["noise_share.py", "--out", FIGURES]
        runpy.run_path(os.path.join(EXAMPLES, "noise_share.py"), run_name="__main__")
    if "--fashion" in argv:
        sys.argv = ["predict_tailoff.py", "--fashion", "--out", FIGURES]
        runpy.run_path(os.path.join(EXAMPLES, "predict_tailoff.py"), run_name="__main__")
        sys.argv = ["predict_tailoff.py", "--fashion", "--warm-start", "2", "--out", FIGURES]
        runpy.run_path(os.path.join(EXAMPLES, "predict_tailoff.py"), run_name="__main__")


if __name__ == "__main__":
    main()
