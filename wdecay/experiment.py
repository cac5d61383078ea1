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
restores the training state each checkpoint stores beside the weights: the
optimizer's ``state_dict()`` (velocity, moments, step count) and every
monitor's (the initial weights :class:`~wdecay.monitors.DecayPrediction`
predicts from and its departure epochs, :class:`~wdecay.monitors.NormBudget`'s
tail-off epochs). An interrupted and resumed run's history and weights equal
those of an uninterrupted run, bit for bit, for every optimizer.

Each checkpoint stores its run's settings; a resume refuses a checkpoint whose
settings (or network: sizes, activation, cost, initializer) differ from the
run's, and a history whose rows do not end at the checkpoint's epoch with its
weights' RMS and the run's penalty of them, naming what disagrees
(:func:`check_resume`). Only one process at a time trains into a
``checkpoint_dir`` (:func:`wdecay.runfolder.lock`).
"""

from __future__ import annotations

import glob
import math
import numbers
import os
import re

import numpy as np

from . import monitors as M
from . import config
from .config import DEFAULTS, OPTIMIZER_SETTINGS, check  # noqa: F401 (E.OPTIMIZER_SETTINGS)
from .history import History
from .network import Network
from .optim import OPTIMIZERS, get_optimizer, optimizer_name
from .regularizers import REGULARIZERS, get_regularizer, make_regularizer
from .runfolder import lock
from .serialization import MAX_PARAMETERS, load_checkpoint, save
from .summary import TablePrinter, summarize

CHECKPOINT_NAME = re.compile(r"checkpoint-epoch(\d+)\.npz")


class Checkpoint(M.Monitor):
    """Save ``network`` to ``folder/checkpoint-epoch<k>.npz`` after each finished epoch k.

    The save happens when the next epoch begins (and when training ends), so
    the checkpoint's epoch always has its row in the history. Writes are
    atomic; the previous checkpoint is removed after the new one is in place.
    ``settings`` (the run's, optional) are stored in each checkpoint, for a
    resume to check them, and so are the ``state_dict()`` of ``optimizer`` and
    of each of ``monitors`` (:func:`training_state`).
    """

    def __init__(self, network, folder, settings=None, optimizer=None, monitors=()):
        self.network, self.folder, self.settings = network, os.fspath(folder), settings
        self.optimizer, self.monitors = optimizer, list(monitors)

    def on_epoch_begin(self, state):
        self.save(state.epoch - 1)

    def on_train_end(self, state):
        self.save(state.epoch)

    def save(self, epoch):
        path = os.path.join(self.folder, f"checkpoint-epoch{epoch}.npz")
        state = None
        if self.optimizer is not None:
            state = training_state(self.optimizer, self.monitors)
        save(self.network, path, settings=self.settings, state=state)
        for old, k in checkpoints(self.folder):
            if k != epoch:
                os.unlink(old)


def training_state(optimizer, monitors):
    """What a checkpoint stores beside the weights: the optimizer's and the monitors' states.

    ``{"optimizer": optimizer.state_dict(), "monitors": [[class name, state_dict()], ...]}``.
    """
    return {"optimizer": optimizer.state_dict(),
            "monitors": [[type(m).__name__, m.state_dict()] for m in monitors]}


def restore_training_state(state, optimizer, monitors, path):
    """Load a :func:`training_state` into ``optimizer`` and ``monitors`` (the same list, in order).

    Each non-empty monitor state goes to the next monitor of the same class, so
    stateless monitors may come and go. Raises ``ValueError`` naming the
    checkpoint when the state is missing or a stored state has no monitor.
    """
    if not isinstance(state, dict) or set(state) != {"optimizer", "monitors"}:
        raise ValueError(f"{path} stores no training state (the optimizer's and the monitors'); "
                         "it was written by an older wdecay: start the run again")
    saved = state["monitors"]
    if not isinstance(saved, list) or not all(
            isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
            for item in saved):
        raise ValueError(f"{path} stores a malformed list of monitor states")
    pending = list(monitors)
    try:
        optimizer.load_state_dict(state["optimizer"])
        for name, st in saved:  # each saved state goes to the next monitor of its class
            if not st:
                continue
            while pending and type(pending[0]).__name__ != name:
                pending.pop(0)
            if not pending:
                raise ValueError(f"{path} stores the state of a {name} monitor, which this run "
                                 f"does not have in that order ({[type(m).__name__ for m in monitors]}); "
                                 "resume with the same monitors, or start the run again")
            pending.pop(0).load_state_dict(st)
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{path} stores a training state this run cannot use: {exc}") from None


def checkpoints(folder):
    """``[(path, epoch), ...]`` of the checkpoints in ``folder``, oldest first."""
    found = []
    for path in glob.glob(os.path.join(glob.escape(os.fspath(folder)), "checkpoint-epoch*.npz")):
        match = CHECKPOINT_NAME.fullmatch(os.path.basename(path))
        if match:
            found.append((path, int(match.group(1))))
    return sorted(found, key=lambda pe: pe[1])


#: The settings a checkpoint must share with the run that resumes it ("epochs" may grow);
#: a registered class's own settings are checked too (:func:`checked_settings`).
CHECKED_SETTINGS = tuple(k for k in DEFAULTS if k != "epochs") + ("dataset", "n_train")


def checked_settings():
    """:data:`CHECKED_SETTINGS` and the settings every registered class declares."""
    return CHECKED_SETTINGS + tuple(k for k in config.class_settings() if k not in DEFAULTS)


class _Missing:
    def __repr__(self):
        return "(none)"


_NONE = _Missing()


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is not bool and type(b) is not bool and a == b or a is b


def check_checkpoint(path, network, stored, settings):
    """Raise ``ValueError`` unless checkpoint ``path`` (network, stored settings) is the run's.

    ``stored`` are the settings the checkpoint recorded, ``settings`` the
    run's (complete, with ``n_train``); every key of :data:`CHECKED_SETTINGS`
    that either holds must be in both and equal, and the network's sizes,
    activation, cost and initializer must be the ones ``settings`` name.
    """
    if stored is None:
        raise ValueError(f"{path} does not record the settings it was trained with, so it "
                         "cannot be checked against the run's; start the run again")
    checked = checked_settings()
    unknown = sorted(set(stored) - set(checked))
    if unknown:
        raise ValueError(f"{path} records settings wdecay does not know ({', '.join(unknown)}): "
                         "it was not written by this wdecay, or it was edited")
    s = settings
    network_says = {"sizes": network.sizes, "activation": network.activation.name,
                    "cost": network.cost.name, "init": network.initializer.name}
    for key, value in network_says.items():
        if not _same(value, list(s[key]) if key == "sizes" else s[key]):
            raise ValueError(f"{path} holds a network with {key} {value!r}, the run's settings "
                             f"say {s[key]!r}: they are not from the same run")
    for key in checked:
        if key not in s and key not in stored:
            continue
        a = stored.get(key, _NONE)
        b = s.get(key, _NONE)
        b = list(b) if key == "sizes" else b
        if not _same(a, b):
            raise ValueError(f"{path} was trained with {key} {a!r}, the run's settings say "
                             f"{b!r}: they are not from the same run")


def check_resume(checkpoint_dir, history_path, settings):
    """Check a run to resume without writing anything; return ``(network, checkpoint's epoch)``.

    The last checkpoint in ``checkpoint_dir`` must hold the run's network and
    settings (:func:`check_checkpoint`; ``settings`` complete, with
    ``n_train``), the run's ``epochs`` must be at least the checkpoint's, and the history at ``history_path`` (a regular
    file, not a link) must number its epochs 0, 1, ... and end, at the
    checkpoint's epoch, with the checkpoint's weights
    (:meth:`~wdecay.History.check_resumable`), and the penalty it records there
    must be what the run's regularizer, lmbda and n give for those weights.
    Raises ``ValueError`` naming the disagreement, ``FileNotFoundError``
    without a checkpoint or a history. Returns ``(network, epoch, state)``,
    ``state`` the checkpoint's :func:`training_state`.
    """
    s = settings
    found = checkpoints(checkpoint_dir)
    if not found:
        raise FileNotFoundError(f"no checkpoint-epoch<k>.npz in {checkpoint_dir} to resume from")
    path, done = found[-1]
    net, stored, state = load_checkpoint(path, sizes=s["sizes"])
    check_checkpoint(path, net, stored, s)
    if state is None:
        raise ValueError(f"{path} stores no training state (the optimizer's and the "
                         "monitors'); it was written by an older wdecay: start the run again")
    if s["epochs"] < done:
        raise ValueError(f"`epochs` must be >= {done} (the checkpoint's epoch) to resume, "
                         f"got {s['epochs']}")
    history = History.read_resumable(history_path)
    history.check_resumable(net, done)
    _check_history_penalty(history, net, done, s)
    return net, done, state


def _check_history_penalty(history, network, epoch, s):
    """The history's ``total/penalty`` at ``epoch`` must be the run's penalty of the weights.

    It ties the history to the run's regularizer, lmbda and n: a history trained
    with other ones records another penalty for the same weights.
    """
    record = next((r for r in history.records if r.get("epoch") == epoch), {})
    recorded = record.get("total/penalty")
    if not (isinstance(recorded, float) and math.isfinite(recorded)):
        raise ValueError(f"{history.path} records no total/penalty at epoch {epoch}, so it "
                         "cannot be checked against the run's regularizer: it is not a "
                         "wdecay experiment's history")
    regularizer = make_regularizer(s["regularizer"], s)
    penalty = float(regularizer.penalty(network.weights, s["n_train"]))
    if not math.isclose(recorded, penalty, rel_tol=1e-9, abs_tol=1e-300):
        own = ", ".join(f"{k} {v!r}" for k, v in regularizer.settings().items())
        raise ValueError(
            f"{history.path} records the penalty {recorded!r} at epoch {epoch}, but the run's "
            f"regularizer {s['regularizer']!r} with {own + ' and ' if own else ''}n "
            f"{s['n_train']} gives {penalty!r} for the checkpoint's weights: they are not from "
            "the same run")


def check_settings(settings):
    """Validate a run's settings before anything is trained or written; return them complete.

    The settings of the classes named take the defaults their classes declare
    (:func:`wdecay.config.settings_of`), also where given as None; ``lmbda`` is
    None for a regularizer without one (unless given). Raises ``ValueError``
    or ``TypeError`` naming the setting.
    """
    s = {**DEFAULTS, **settings}
    for family in ("regularizer", "optimizer"):  # the registered name, whatever its case
        s[family] = canonical_name(config.FAMILIES[family], s[family])
    declared = config.settings_of(s)
    # None for a setting its class gives a default: the default (as an option not given)
    s = {**s, **declared, **{k: v for k, v in settings.items()
                             if k not in ("regularizer", "optimizer")
                             and not (v is None and k in declared)}}
    known = set(DEFAULTS) | set(config.class_settings())
    unknown = sorted(set(s) - known - {"dataset", "n_train"})
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(known)}")
    for key in config.class_settings():  # a setting no class of this run takes is checked too
        if s.get(key) is not None:
            check(key, s[key])
    sizes = s["sizes"]
    if isinstance(sizes, (list, tuple)) and all(isinstance(k, numbers.Integral) for k in sizes):
        total = sum(int(a) * int(b) + int(a) for a, b in zip(sizes[1:], sizes[:-1]))
        if total > MAX_PARAMETERS:  # before anything is allocated
            raise ValueError(f"`sizes` {list(sizes)} declare {total:,} parameters; an experiment "
                             f"trains at most {MAX_PARAMETERS:,}")
    Network(s["sizes"], cost=config.make("cost", s), initializer=config.make("init", s),
            activation=s["activation"], seed=0)
    reg = REGULARIZERS.lookup(s["regularizer"])
    if "lmbda" not in reg.hyperparameters and "lmbda" not in settings:
        s["lmbda"] = None  # its own settings say how strong it is: no lmbda to fake
    make_regularizer(s["regularizer"], s)
    make_optimizer(s)
    for name in ("eta", "batch_size", "epochs", "seed"):
        check(name, s[name])
    return {k: _plain(v) for k, v in s.items()}


def _plain(value):
    """``value`` with numpy scalars (and other number types, such as ``Fraction``) as Python
    numbers, so that checkpoints and run.json can store it; a list or tuple (``sizes``)
    element by element."""
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, int, float)):
        return float(value)
    return value


def check_predict(settings):
    """Refuse ``predict=True`` for a regularizer without a single lmbda, in one line.

    :func:`wdecay.equilibrium.predict_tailoff` reads the penalty's lmbda / n.
    """
    reg = make_regularizer(settings["regularizer"], settings)
    if reg.lmbda is None:
        raise ValueError(f"--predict needs a regularizer with one lmbda (l2, l1, none): the "
                         f"prediction reads lmbda/n, and {settings['regularizer']!r} has "
                         f"{', '.join(reg.settings())} instead")


def make_optimizer(settings):
    """The optimizer a run's settings name, with the options that optimizer takes.

    Examples
    --------
    >>> make_optimizer({**DEFAULTS, "optimizer": "nesterov", "momentum": 0.5})
    Nesterov(decoupled=False, momentum=0.5)
    """
    name = canonical_name(OPTIMIZERS, settings["optimizer"])
    return OPTIMIZERS.make(name, {**config.settings_of({"optimizer": name}), **settings})


def canonical_name(registry, value):
    """The name ``value`` (any case) is registered under in ``registry``; else one clear error.

    Examples
    --------
    >>> canonical_name(OPTIMIZERS, "AdamW")
    'adamw'
    """
    if not isinstance(value, str):
        raise TypeError(f"`{registry.family}` must be the name of a registered {registry.family} "
                        f"(one of {', '.join(repr(k) for k in sorted(registry))}), got {value!r}")
    registry.lookup(value)
    return value.lower()


def _initial_network(s):
    """The run's network before training: its cost and initializer made with their settings."""
    return Network(s["sizes"], cost=config.make("cost", s), initializer=config.make("init", s),
                   activation=s["activation"], seed=s["seed"])


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
    if checkpoint_dir is None:
        return _run(splits, s, table, history_path, stream, None, resume, history_mode,
                    progress, monitors, predict)
    with lock(checkpoint_dir):
        return _run(splits, s, table, history_path, stream, checkpoint_dir, resume,
                    history_mode, progress, monitors, predict)


def _run(splits, s, table, history_path, stream, checkpoint_dir, resume, history_mode,
         progress, monitors, predict):
    (X, y), evaluation, (X_test, y_test) = splits
    s["n_train"] = len(X)
    net = _initial_network(s)
    rng = np.random.default_rng(s["seed"])
    extra, monitors = list(monitors), [M.Accuracy("evaluation"), *M.diagnostics()]
    optimizer = make_optimizer(s)
    state = None
    if resume:
        if checkpoint_dir is None or history_path is None:
            raise ValueError("resume=True needs `checkpoint_dir` and `history_path`")
        net, done, state = check_resume(checkpoint_dir, history_path, s)
        # a checkpoint names its cost and initializer; their settings are the run's
        net.cost, net.initializer = config.make("cost", s), config.make("init", s)
        epochs = s["epochs"] - done
        history = History(path=history_path, mode="resume")
        history.check_resumable(net, done)  # before any row of the file is dropped
        history.truncate(done)
        for _ in range(done):  # epoch k's mini-batch order is the k-th permutation
            rng.permutation(len(X))
    else:
        history = History(path=history_path, mode=history_mode)
        epochs = s["epochs"]
    monitors += extra
    stateful = monitors[:]  # the monitors whose states a checkpoint keeps
    if progress:
        monitors.append(M.ProgressBar())
    if table:
        monitors.append(TablePrinter(len(net.weights), stream))
    if state is not None:
        restore_training_state(state, optimizer, stateful, checkpoint_dir)
    if checkpoint_dir is not None:  # first, so each epoch is saved before anything else runs
        monitors.insert(0, Checkpoint(net, checkpoint_dir,
                                      {k: v for k, v in s.items() if k != "epochs"},
                                      optimizer, stateful))
    prediction = None
    if predict:
        from .equilibrium import predict_tailoff

        check_predict(s)
        prediction = predict_tailoff(_initial_network(s), X, y, eta=s["eta"],
                                     batch_size=s["batch_size"],
                                     regularizer=make_regularizer(s["regularizer"], s),
                                     optimizer=make_optimizer(s))
    if epochs > 0 or not resume:
        net.fit(X, y, epochs=epochs, batch_size=s["batch_size"], eta=s["eta"],
                regularizer=make_regularizer(s["regularizer"], s),
                evaluation_data=evaluation, monitors=monitors, seed=rng, history=history,
                optimizer=optimizer, reset_optimizer=state is None)
    return net, history, summarize(history, net, s, net.accuracy(X_test, y_test), prediction)


def _registered_name(obj, registry=REGULARIZERS):
    """The name ``obj``'s class is registered under in ``registry``, else its class name.

    A subclass that inherits a name without being registered under it
    (``class MyL2(L2, register=False)``, an ``Initializer`` subclass without a
    ``name``) is not the class that name makes.
    """
    name = obj.name
    if isinstance(name, str) and registry.get(name) is type(obj):
        return name
    return type(obj).__name__


def summarize_run(history, network, *, regularizer, eta, batch_size, n_train, seed=None,
                  test_data=None, optimizer=None):
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
    optimizer : Optimizer or str, optional
        The one ``fit`` trained with (default: Nielsen's SGD); the summary's
        sentences about decay depend on it.

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
    settings = {"sizes": list(network.sizes),
                "init": _registered_name(network.initializer, config.FAMILIES["init"]),
                "cost": _registered_name(network.cost, config.FAMILIES["cost"]),
                "activation": network.activation.name,
                "regularizer": _registered_name(regularizer),
                "lmbda": regularizer.lmbda, "eta": eta,
                "batch_size": batch_size, "epochs": int(history.last("epoch", 0)), "seed": seed,
                "n_train": n_train, **regularizer.settings(),
                **network.cost.settings(), **network.initializer.settings()}
    optimizer = get_optimizer(optimizer)
    settings["optimizer"] = optimizer_name(optimizer)
    settings.update({k: getattr(optimizer, k) for k in OPTIMIZERS.settings()
                     if hasattr(optimizer, k)})
    test = math.nan if test_data is None else network.accuracy(*test_data)
    return summarize(history, network, settings, test, optimizer=optimizer)
