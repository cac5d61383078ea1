"""The weight-decay experiment: train with every diagnostic on, then say what decay did.

:func:`run` trains one configuration (or continues one from its last
checkpoint) and returns its network, history and summary; :func:`summarize_run`
summarizes any history trained with :func:`wdecay.monitors.diagnostics`. The
summary's numbers and sentences come from :mod:`wdecay.summary`.

Checkpoints
-----------
With a ``checkpoint_dir``, :class:`Checkpoint` saves the network atomically
after every finished epoch as ``checkpoint-epoch<k>.npz`` (the previous one is
removed once the new one is in place), beside the streamed ``history.csv``.
``run(..., resume=True)`` continues exactly: it loads the last checkpoint,
drops history rows after it, checks that the two belong together, advances the
mini-batch order by the finished epochs' permutations (epoch k's order is the
k-th ``permutation(n)`` drawn from ``np.random.default_rng(seed)``), and
restores the state the monitors carry across epochs: the initial weights that
:class:`~wdecay.monitors.DecayPrediction` predicts from (regenerated from the
seed), its departure epochs and :class:`~wdecay.monitors.NormBudget`'s tail-off
epochs (read from the history). An interrupted and resumed run's history and
weights equal those of an uninterrupted run, bit for bit.
"""

from __future__ import annotations

import glob
import math
import numbers
import os
import re

import numpy as np

from . import monitors as M
from ._validation import check_scalar
from .history import History
from .network import Network
from .optim import get_optimizer
from .regularizers import get_regularizer
from .serialization import load, save
from .summary import TablePrinter, summarize

DEFAULTS = dict(sizes=[784, 30, 10], init="large", cost="cross-entropy", activation="sigmoid",
                regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=30, seed=0,
                optimizer="sgd", momentum=0.9, beta1=0.9, beta2=0.999)

#: The settings each optimizer takes from a run's settings (the others are ignored).
OPTIMIZER_SETTINGS = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",),
                      "adam": ("beta1", "beta2"), "adamw": ("beta1", "beta2")}

CHECKPOINT_NAME = re.compile(r"checkpoint-epoch(\d+)\.npz")


class Checkpoint(M.Monitor):
    """Save ``network`` to ``folder/checkpoint-epoch<k>.npz`` after each finished epoch k.

    The save happens when the next epoch begins (and when training ends), so
    the checkpoint's epoch always has its row in the history. Writes are
    atomic; the previous checkpoint is removed after the new one is in place.
    """

    def __init__(self, network, folder):
        self.network, self.folder = network, os.fspath(folder)

    def on_epoch_begin(self, state):
        self.save(state.epoch - 1)

    def on_train_end(self, state):
        self.save(state.epoch)

    def save(self, epoch):
        path = os.path.join(self.folder, f"checkpoint-epoch{epoch}.npz")
        save(self.network, path)
        for old, k in checkpoints(self.folder):
            if k != epoch:
                os.unlink(old)


def checkpoints(folder):
    """``[(path, epoch), ...]`` of the checkpoints in ``folder``, oldest first."""
    found = []
    for path in glob.glob(os.path.join(glob.escape(os.fspath(folder)), "checkpoint-epoch*.npz")):
        match = CHECKPOINT_NAME.fullmatch(os.path.basename(path))
        if match:
            found.append((path, int(match.group(1))))
    return sorted(found, key=lambda pe: pe[1])


def check_settings(settings):
    """Validate a run's settings before anything is trained or written; return them complete.

    Raises ``ValueError`` or ``TypeError`` naming the setting.
    """
    s = {**DEFAULTS, **settings}
    unknown = sorted(set(s) - set(DEFAULTS) - {"dataset", "n_train"})
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(DEFAULTS)}")
    Network(s["sizes"], cost=s["cost"], initializer=s["init"], activation=s["activation"], seed=0)
    get_regularizer(s["regularizer"], s["lmbda"])
    make_optimizer(s)
    check_scalar(s["eta"], "eta", low=0, inclusive=False)
    check_scalar(s["batch_size"], "batch_size", kind=numbers.Integral, low=1)
    check_scalar(s["epochs"], "epochs", kind=numbers.Integral, low=0)
    check_scalar(s["seed"], "seed", kind=numbers.Integral, low=0)
    return s


def make_optimizer(settings):
    """The optimizer a run's settings name, with the options that optimizer takes.

    Examples
    --------
    >>> make_optimizer({**DEFAULTS, "optimizer": "nesterov", "momentum": 0.5})
    Nesterov(decoupled=False, momentum=0.5)
    """
    name = settings["optimizer"]
    if name not in OPTIMIZER_SETTINGS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of "
                         f"{', '.join(repr(k) for k in OPTIMIZER_SETTINGS)}")
    return get_optimizer(name, **{k: settings[k] for k in OPTIMIZER_SETTINGS[name]})


def _initial_network(s):
    return Network(s["sizes"], cost=s["cost"], initializer=s["init"],
                   activation=s["activation"], seed=s["seed"])


class _RestoreState(M.Monitor):
    """Put back what the diagnostics carry across epochs when a run is resumed.

    Runs last in ``on_train_begin``, after the monitors have reset themselves.
    """

    def __init__(self, monitors, initial, history):
        self.monitors, self.initial, self.history = monitors, initial, history

    def _epochs(self, suffix):
        found = {}
        for key in self.history.keys():
            if key.startswith("layer") and key.endswith(suffix):
                value = self.history.last(key)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    found[int(key[5:key.index("/")])] = int(value)
        return found

    def on_train_begin(self, state):
        for m in self.monitors:
            if isinstance(m, M.NormBudget):
                m.tailoff = self._epochs("/tailoff_epoch")
            if isinstance(m, M.DecayPrediction):
                m.initial = [np.array(w) for w in self.initial.weights]
                m.start_epoch = 0
                m.departure = self._epochs("/departure_epoch")


def run(splits, settings, table=True, history_path=None, stream=None, *,
        checkpoint_dir=None, resume=False, history_mode="new", progress=True, monitors=(),
        predict=False):
    """Train one configuration on ``splits``; return ``(network, history, summary)``.

    Parameters
    ----------
    splits : DataSplits
        ``(training, validation, test)`` pairs; validation is the evaluation data.
    settings : dict
        Any of :data:`DEFAULTS`' keys; missing ones take the defaults.
    table : bool
        Print one line per epoch to ``stream``.
    history_path : str, optional
        Stream the history to this CSV file (see ``history_mode``).
    checkpoint_dir : str, optional
        Save the network there after every epoch (see the module docstring).
    resume : bool
        Continue from the last checkpoint in ``checkpoint_dir`` and the history
        at ``history_path`` up to ``settings["epochs"]``.
    history_mode : str
        :class:`~wdecay.history.History`'s ``mode`` for a fresh run.
    progress : bool
        Draw a progress bar on a terminal.
    monitors : sequence of Monitor
        Extra monitors, called after the diagnostics.
    predict : bool
        Before training, predict each layer's plateau and tail-off epoch with
        :func:`wdecay.equilibrium.predict_tailoff` and the run's optimizer (a
        few seconds on the sample); the summary then states them beside the
        measured ones.

    Returns
    -------
    network, history, summary
        ``summary`` is :func:`wdecay.summary.summarize`'s dict; turn it into
        sentences with :func:`wdecay.summary.summary_text`.
    """
    s = check_settings(settings)
    (X, y), evaluation, (X_test, y_test) = splits
    net = _initial_network(s)
    rng = np.random.default_rng(s["seed"])
    extra, monitors = list(monitors), [M.Accuracy("evaluation"), *M.diagnostics()]
    if resume:
        if checkpoint_dir is None or history_path is None:
            raise ValueError("resume=True needs `checkpoint_dir` and `history_path`")
        found = checkpoints(checkpoint_dir)
        if not found:
            raise FileNotFoundError(f"no checkpoint-epoch<k>.npz in {checkpoint_dir} to resume from")
        path, done = found[-1]
        initial, net = net, load(path)
        if net.sizes != list(s["sizes"]):
            raise ValueError(f"{path} has sizes {net.sizes}, the run's settings {s['sizes']}")
        if s["optimizer"] != "sgd":  # a checkpoint holds the weights, not the optimizer's state
            raise ValueError(f"resuming needs optimizer 'sgd', got {s['optimizer']!r}: the "
                             "checkpoint does not keep its velocity or moments")
        epochs = s["epochs"] - done
        if epochs < 0:
            raise ValueError(f"`epochs` must be >= {done} (the checkpoint's epoch) to resume, "
                             f"got {s['epochs']}")
        history = History(path=history_path, mode="resume")
        history.check_resumable(net, done)  # before any row of the file is dropped
        history.truncate(done)
        for _ in range(done):  # epoch k's mini-batch order is the k-th permutation
            rng.permutation(len(X))
        monitors.append(_RestoreState(monitors[:], initial, history))
    else:
        history = History(path=history_path, mode=history_mode)
        epochs = s["epochs"]
    monitors += extra
    if progress:
        monitors.append(M.ProgressBar())
    if table:
        monitors.append(TablePrinter(len(net.weights), stream))
    if checkpoint_dir is not None:  # first, so each epoch is saved before anything else runs
        monitors.insert(0, Checkpoint(net, checkpoint_dir))
    s["n_train"] = len(X)
    prediction = None
    if predict:
        from .equilibrium import predict_tailoff

        prediction = predict_tailoff(_initial_network(s), X, y, eta=s["eta"],
                                     batch_size=s["batch_size"],
                                     regularizer=get_regularizer(s["regularizer"], s["lmbda"]),
                                     optimizer=make_optimizer(s))
    if epochs > 0 or not resume:
        net.fit(X, y, epochs=epochs, batch_size=s["batch_size"], eta=s["eta"],
                regularizer=get_regularizer(s["regularizer"], s["lmbda"]),
                evaluation_data=evaluation, monitors=monitors, seed=rng, history=history,
                optimizer=make_optimizer(s))
    return net, history, summarize(history, net, s, net.accuracy(X_test, y_test), prediction)


def summarize_run(history, network, *, regularizer, eta, batch_size, n_train, seed=None,
                  test_data=None):
    """The summary of a run trained with ``wdecay.monitors.diagnostics()`` by ``fit``.

    Parameters
    ----------
    history : History
        ``fit``'s history; it must hold the diagnostics' keys.
    network : Network
        The trained network.
    regularizer : Regularizer
        The penalty it was trained with, e.g. ``wdecay.L2(5.0)``.
    eta, batch_size, n_train, seed
        The training settings (``n_train`` the training-set size).
    test_data : tuple (X, y), optional
        Scored as ``test_accuracy`` (NaN without it).

    Returns
    -------
    dict
        As :func:`run`'s summary; :func:`wdecay.summary.summary_text` gives the sentences.

    Examples
    --------
    >>> import wdecay
    >>> from wdecay.monitors import diagnostics
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((40, 4)), rng.integers(0, 2, 40)
    >>> net = wdecay.Network([4, 3, 2], seed=0)
    >>> h = net.fit(X, y, epochs=2, batch_size=10, eta=0.5, regularizer=wdecay.L2(1.0),
    ...             monitors=diagnostics(), seed=0)
    >>> summary = summarize_run(h, net, regularizer=wdecay.L2(1.0), eta=0.5, batch_size=10,
    ...                         n_train=40, seed=0, test_data=(X, y))
    >>> [L["layer"] for L in summary["layers"]]
    [1, 2]
    >>> from wdecay.summary import summary_text
    >>> summary_text(summary).startswith("L2 lmbda=1")
    True
    """
    regularizer = get_regularizer(regularizer)
    needed = [f"layer{l}/{k}" for l in range(1, len(network.weights) + 1)
              for k in ("rms", "rms_ratio", "tailoff_epoch", "mean_fprime")
              if not (k == "mean_fprime" and l == len(network.weights))]
    missing = [k for k in needed if k not in history]
    if missing:
        raise ValueError(f"the history lacks the diagnostics' keys ({', '.join(missing[:3])}"
                         f"{', ...' if len(missing) > 3 else ''}); train with "
                         "monitors=wdecay.monitors.diagnostics()")
    settings = {"sizes": list(network.sizes), "init": network.initializer.name,
                "cost": network.cost.name, "activation": network.activation.name,
                "regularizer": getattr(regularizer, "name", type(regularizer).__name__),
                "lmbda": regularizer.lmbda, "eta": eta,
                "batch_size": batch_size, "epochs": int(history.last("epoch", 0)), "seed": seed,
                "n_train": n_train}
    test = math.nan if test_data is None else network.accuracy(*test_data)
    return summarize(history, network, settings, test)
