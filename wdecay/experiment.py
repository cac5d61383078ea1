"""The weight-decay experiment: train with every diagnostic on, then say what decay did.

:func:`run` trains one configuration and returns its network, history and
summary; the summary's numbers and sentences come from :mod:`wdecay.summary`.
"""

from __future__ import annotations

from . import monitors as M
from .history import History
from .network import Network
from .regularizers import get_regularizer
from .summary import TablePrinter, summarize, summary_text  # noqa: F401  (re-exported)

DEFAULTS = dict(sizes=[784, 30, 10], init="large", cost="cross-entropy", activation="sigmoid",
                regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=30, seed=0)


def run(splits, settings, table=True, history_path=None, stream=None):
    """Train one configuration on ``splits``; return ``(network, history, summary)``."""
    s = {**DEFAULTS, **settings}
    (X, y), evaluation, (X_test, y_test) = splits
    net = Network(s["sizes"], cost=s["cost"], initializer=s["init"],
                  activation=s["activation"], seed=s["seed"])
    monitors = [M.Accuracy("evaluation"), *M.diagnostics(), M.ProgressBar()]
    if table:
        monitors.append(TablePrinter(len(net.weights), stream))
    history = net.fit(X, y, epochs=s["epochs"], batch_size=s["batch_size"], eta=s["eta"],
                      regularizer=get_regularizer(s["regularizer"], s["lmbda"]),
                      evaluation_data=evaluation, monitors=monitors, seed=s["seed"],
                      history=History(path=history_path))
    s["n_train"] = len(X)
    return net, history, summarize(history, net, s, net.accuracy(X_test, y_test))
