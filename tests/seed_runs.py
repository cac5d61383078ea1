"""Runs that several test modules read, each made once per test session.

``seed_experiment()`` is ``wdecay experiment --quiet``, the seed question's default run:
tests/test_docs.py checks its printed summary, tests/test_docs_numbers.py the norm budget
of the same training (before, each trained it: about 2 s of the fast suite).
"""

import contextlib
import functools
import io
from unittest import mock


@functools.cache
def seed_experiment():
    """``(exit code, printed output, settings, history)`` of ``wdecay experiment --quiet``.

    The CLI's own run; its settings and history are read by wrapping
    :func:`wdecay.experiment.run`, which the CLI calls (nothing else changes).
    """
    from wdecay import experiment as E
    from wdecay.cli import main

    runs, run = [], E.run

    def watched(splits, settings, *args, **kwargs):
        net, history, summary = run(splits, settings, *args, **kwargs)
        runs.append((dict(settings), history))
        return net, history, summary

    out = io.StringIO()
    with mock.patch.object(E, "run", watched), contextlib.redirect_stdout(out):
        code = main(["experiment", "--quiet"])
    (settings, history), = runs
    return code, out.getvalue(), settings, history


#: The seed question's prediction settings: examples/prediction_table.py's "seed (lmbda 5)"
#: row (sigmoid [784, 30, 10], N(0, 1) weights seed 0, the 4,000-row sample, SGD, eta 0.1,
#: m 10, L2 lmbda 5, at most 1000 iterations).
SEED_PREDICTION = {"sizes": [784, 30, 10], "activation": "sigmoid", "regularizer": "l2",
                   "lmbda": 5.0, "optimizer": "sgd", "eta": 0.1, "m": 10, "max_iter": 1000,
                   "data": "sample"}


@functools.cache
def seed_prediction():
    """:func:`wdecay.equilibrium.predict_tailoff` on the seed question (``SEED_PREDICTION``).

    tests/test_docs_predictions.py's seed row and tests/test_equilibrium.py's
    ``TYPICAL_EVALUATIONS`` test read it (the slow suite solved it twice).
    """
    import wdecay
    from wdecay.datasets import load_mnist_sample
    from wdecay.equilibrium import predict_tailoff
    from wdecay.optim import get_optimizer

    s = SEED_PREDICTION
    (X, y), _, _ = load_mnist_sample()
    net = wdecay.Network(s["sizes"], activation=s["activation"], initializer="large", seed=0)
    return predict_tailoff(net, X, y, eta=s["eta"], batch_size=s["m"],
                           regularizer=wdecay.L2(s["lmbda"]),
                           optimizer=get_optimizer(s["optimizer"]), max_iter=s["max_iter"],
                           progress=False)
