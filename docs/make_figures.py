"""Regenerate every figure and number quoted in the docs (about 1 minute on 2 cores).

    python docs/make_figures.py

Writes into docs/figures/: the default experiment's summary and plots
(``wdecay experiment``) and the tail-off study (examples/tailoff_study.py with
lmbda 5, 10, 20, 40, 80 for 150 epochs). tests/test_docs.py checks the quoted
numbers against fresh runs.
"""

import contextlib
import io
import os
import runpy
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")
TAILOFF_ARGS = ["--lmbdas", "5", "10", "20", "40", "80", "--epochs", "150", "--out", FIGURES]


def main():
    from wdecay.cli import main as cli

    os.makedirs(FIGURES, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            cli(["experiment", "--out", tmp, "--quiet"])
        with open(os.path.join(FIGURES, "seed_experiment_summary.txt"), "w") as fh:
            fh.write(text.getvalue())
        for name in ("layer_norms.png", "norm_budget.png", "sum_vs_abs.png"):
            shutil.copy(os.path.join(tmp, name), os.path.join(FIGURES, name))
    sys.argv = ["tailoff_study.py", *TAILOFF_ARGS]
    runpy.run_path(os.path.join(HERE, "..", "examples", "tailoff_study.py"), run_name="__main__")


if __name__ == "__main__":
    main()
