"""Sweeps: expand a grid of hyperparameters, train compatible runs in lockstep, gather a table.

A grid maps setting names to a value or a list of values; :func:`expand` takes
the cartesian product. Runs that share everything but the per-network settings
(eta, lmbda, regularizer, initializer, init_seed, order_seed, and the settings
any registered regularizer or initializer declares, such as an elastic net's
``l1`` and ``l2``: :func:`per_network`) form lockstep batches; a registered
cost's settings are shared keys (:func:`shared_keys`). Each
batch is one task: a plain, picklable function (:func:`run_batch`) of a plain
config that loads its own data, so it runs the same in this process, in a
``concurrent.futures`` process pool or on a Dask cluster
(``distributed.Client.get_executor()``), and returns plain data.

Before any training, :func:`validate` checks every point of the grid; a bad
point is marked failed with the bad value named (or, with
``on_invalid="raise"``, nothing runs) and the good points train. Should a
batch still fail as a whole, its runs are retried one by one, so one bad point
never costs the others.
"""

from __future__ import annotations

import itertools
import numbers
import traceback

import numpy as np

from .. import config
from .._validation import check_scalar
from ..config import NETWORK_DEFAULTS
from ..costs import COSTS
from ..initializers import INITIALIZERS
from ..regularizers import REGULARIZERS

PER_NETWORK = ("eta", "lmbda", "regularizer", "initializer", "init_seed", "order_seed")
SHARED_DEFAULTS = {"data": "mnist-sample", "sizes": (784, 30, 10), "cost": "cross-entropy",
                   "activation": "sigmoid", "epochs": 1, "batch_size": 10, "seed": 0,
                   "monitors": ("weight_norms",)}


def per_network():
    """The per-network keys: :data:`PER_NETWORK` and every registered regularizer's and
    initializer's settings.

    A class's own settings (not lmbda) are optional keys: absent, its declared
    defaults hold.
    """
    own = {**REGULARIZERS.settings(), **INITIALIZERS.settings()}
    return PER_NETWORK + tuple(k for k in own if k not in PER_NETWORK)


def shared_keys():
    """The keys every run of a lockstep batch shares: :data:`SHARED_DEFAULTS`'s and every
    registered cost's settings (optional: absent, the cost's declared defaults hold)."""
    return tuple(SHARED_DEFAULTS) + tuple(k for k in COSTS.settings() if k not in SHARED_DEFAULTS)


def _known():
    return set(shared_keys()) | set(NETWORK_DEFAULTS) | set(per_network())


def _given(c):
    return {k: v for k, v in c.items() if v is not None}


def _unused_settings(c):
    """Refuse a class setting the config gives (not None) that none of its named classes takes.

    A grid point whose regularizer, initializer and cost all ignore, say, ``gain`` would
    train exactly as without it while its row records it; so would a nonzero ``lmbda``
    under a regularizer that declares settings without it (an elastic net's ``l1``, ``l2``).
    """
    named = {"regularizer": (REGULARIZERS, c["regularizer"]),
             "initializer": (INITIALIZERS, c["initializer"]), "cost": (COSTS, c["cost"])}
    takes = {}
    for family, (registry, name) in named.items():
        entry = registry.get(name.lower()) if isinstance(name, str) else None
        takes[family] = set(getattr(entry, "hyperparameters", None) or {})
    own = [k for k in (*per_network()[len(PER_NETWORK):], *shared_keys()[len(SHARED_DEFAULTS):])
           if c.get(k) is not None]
    if takes["regularizer"] and "lmbda" not in takes["regularizer"] and c.get("lmbda"):
        own.insert(0, "lmbda")
    for key in own:
        if not any(key in t for t in takes.values()):
            said = ", ".join(f"{family} {name!r} takes {sorted(takes[family]) or 'none'}"
                             for family, (_, name) in named.items())
            raise ValueError(f"{key}={c[key]!r}: no class of this point takes {key} ({said}); "
                             "drop it, or name a class that declares it")


def make_regularizer(c):
    """The regularizer a config names, with its declared settings from the config."""
    return REGULARIZERS.make(c["regularizer"], _given(c))


def make_initializer(c):
    """The initializer a config names, with its declared settings from the config."""
    return config.make("init", {**_given(c), "init": c["initializer"]})


def make_cost(c):
    """The cost a config names, with its declared settings from the config."""
    return config.make("cost", _given(c))


def expand(grid):
    """The cartesian product of a grid, as a list of complete plain config dicts.

    Examples
    --------
    >>> len(expand({"lmbda": [1.0, 5.0], "eta": [0.1, 0.5], "epochs": 2}))
    4
    >>> len(expand({"sizes": [784, 30, 10]})), len(expand({"sizes": [[64, 30, 10], [64, 10]]}))
    (1, 2)
    """
    known = _known()
    unknown = set(grid) - known
    if unknown:
        raise ValueError(f"unknown grid keys {sorted(unknown)}; choose from {sorted(known)}")
    keys = list(grid)
    values = [_choices(k, v) for k, v in grid.items()]
    configs = []
    for combo in itertools.product(*values):
        c = {**SHARED_DEFAULTS, **NETWORK_DEFAULTS, **dict(zip(keys, combo))}
        c["sizes"], c["monitors"] = tuple(c["sizes"]), tuple(c["monitors"])
        configs.append(c)
    return configs


def _choices(key, value):
    """A list sweeps its values; for sizes and monitors a list of lists does."""
    if key == "monitors" and isinstance(value, str):
        return [[value]]
    if key in ("sizes", "monitors"):
        return [list(v) for v in value] if value and isinstance(value[0], (list, tuple)) else [value]
    return value if isinstance(value, list) else [value]


def _data_shape(spec):
    """``(n, d, k)`` of a data spec, without loading it."""
    if spec == "mnist-sample":
        return 4000, 784, 10
    if isinstance(spec, str) and spec.startswith("random:"):
        fields = spec.split(":")[1:]
        try:
            n, d, k, seed = (int(x) for x in fields)
        except ValueError:
            raise ValueError(f"random data must be 'random:N:D:K:SEED' with four integers, "
                             f"got {spec!r}") from None
        if n < 1 or d < 1 or k < 2 or seed < 0:
            raise ValueError(f"random data needs N >= 1, D >= 1, K >= 2, SEED >= 0, got {spec!r}")
        return n, d, k
    raise ValueError(f"unknown data {spec!r}; use 'mnist-sample' or 'random:N:D:K:SEED'")


def _check_config(c):
    """Raise ValueError naming the first bad setting of one config as ``key=value: reason``."""
    from .. import activations, costs, initializers
    from .lockstep import check_configs

    def check(key, fn):
        try:
            fn(c[key])
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{key}={c[key]!r}: {exc}") from None

    known = _known()
    unknown = set(c) - known
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; choose from {sorted(known)}")
    check("data", _data_shape)
    _, d, k = _data_shape(c["data"])

    def sizes(v):
        if isinstance(v, (str, bytes)) or len(v) < 2 or any(
                isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1 for x in v):
            raise ValueError(f"`sizes` must list at least 2 positive integers, got {v!r}")
        if v[0] != d:
            raise ValueError(f"the data have {d} inputs, so sizes[0] must be {d}")
        if v[-1] < k:
            raise ValueError(f"the data have {k} classes, so sizes[-1] must be >= {k}")

    check("sizes", sizes)
    check("activation", activations.get_activation)
    for key in ("epochs", "batch_size", "seed"):
        check(key, lambda v, key=key: config.check(key, v))
    check("monitors", _monitors)
    for key in ("eta", "lmbda", "init_seed", "order_seed", *per_network()[len(PER_NETWORK):],
                *shared_keys()[len(SHARED_DEFAULTS):]):
        if c.get(key) is not None:
            check(key, lambda v, key=key: config.check(key, v))
    # after their settings, so that a bad setting is named as such
    check("cost", lambda v: costs.get_cost(make_cost(c)))
    check("initializer", lambda v: initializers.get_initializer(make_initializer(c)))
    _unused_settings(c)
    try:
        check_configs([{**{key: c[key] for key in PER_NETWORK},
                        "regularizer": make_regularizer(c)}])
    except (ValueError, TypeError) as exc:
        detail = ", ".join(f"{key}={c[key]!r}" for key in ("regularizer", "lmbda", "eta"))
        raise ValueError(f"{detail}: {exc}") from None


def validate(configs):
    """Check every config; return ``{index: "ValueError: key=value: reason"}`` for the bad ones.

    Nothing is trained or loaded. An empty dict means every point is valid.

    Examples
    --------
    >>> bad = validate(expand({"data": "random:60:5:3:0", "sizes": [5, 4, 3],
    ...                        "lmbda": [1.0, -1.0]}))
    >>> bad
    {1: 'ValueError: lmbda=-1.0: `lmbda` must be >= 0, got -1.0'}
    """
    bad = {}
    for i, c in enumerate(configs):
        try:
            if not isinstance(c, dict):
                raise ValueError(f"a config must be a dict, got {type(c).__name__}")
            _check_config({**SHARED_DEFAULTS, **NETWORK_DEFAULTS, **c})
        except ValueError as exc:
            bad[i] = f"ValueError: {exc}"
    return bad


def _check_complete(configs):
    """Refuse a list of configs with keys missing, naming them (a dict grid fills defaults)."""
    needed = set(SHARED_DEFAULTS) | set(NETWORK_DEFAULTS)
    for i, c in enumerate(configs):
        if isinstance(c, dict) and not needed <= set(c):
            missing = sorted(needed - set(c))
            raise ValueError(
                f"`grid` config {i} lacks the keys {missing}: a list must hold complete configs; "
                f"build them with wdecay.sweep.expand(...), or pass a dict grid, e.g. "
                f"run({{'eta': [0.1, 0.5]}}), whose missing keys take their defaults")


def batches(configs, max_batch=16):
    """Group configs that can train in lockstep; each batch is a list of (index, config).

    A None in ``configs`` (an invalid point) is skipped; indices stay those of ``configs``.
    """
    check_scalar(max_batch, "max_batch", kind=numbers.Integral, low=1)
    groups = {}
    for i, c in enumerate(configs):
        if c is None:
            continue
        key = tuple((k, _hashable(c.get(k))) for k in sorted(shared_keys()))
        key += (c["order_seed"] is None,)  # shared and own mini-batch orders do not mix
        groups.setdefault(key, []).append((i, c))
    out = []
    for members in groups.values():
        out += [members[j:j + max_batch] for j in range(0, len(members), max_batch)]
    return out


def _hashable(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def load_data(spec):
    """Training and evaluation data for a data spec.

    ``"mnist-sample"`` is the embedded digits (training and validation splits);
    ``"random:N:D:K:SEED"`` is N random rows of D uniform inputs with K classes.
    """
    if spec == "mnist-sample":
        from ..datasets import load_mnist_sample

        train, validation, _ = load_mnist_sample()
        return train, validation
    if isinstance(spec, str) and spec.startswith("random:"):
        n, d, k, seed = (int(x) for x in spec.split(":")[1:])
        rng = np.random.default_rng(seed)
        X, y = rng.random((n + n // 5, d)), rng.integers(0, k, n + n // 5)
        return (X[:n], y[:n]), (X[n:], y[n:])
    raise ValueError(f"unknown data {spec!r}; use 'mnist-sample' or 'random:N:D:K:SEED'")


def _monitors(names):
    from .. import monitors as M

    table = {"weight_norms": M.WeightNorms, "layer_statistics": M.LayerStatistics,
             "sum_vs_abs_sum": M.SumVsAbsSum, "decay_prediction": M.DecayPrediction,
             "saturation": M.Saturation}
    unknown = set(names) - set(table)
    if unknown:
        raise ValueError(f"unknown monitors {sorted(unknown)}; choose from {sorted(table)}")
    return lambda k: [table[name]() for name in names]


def run_batch(batch):
    """Train one lockstep batch; return one plain result dict per run.

    ``batch`` is a list of ``(index, config)``. A result holds ``index``,
    ``config``, ``history`` (key -> list over epochs) and ``error`` (None, or
    the reason the run failed). This function never raises: if the batch fails
    as a whole, each run is retried alone, and only the runs that fail alone
    are marked.
    """
    from .lockstep import train_many

    shared = batch[0][1]
    try:
        (X, y), evaluation = load_data(shared["data"])
        _, histories = train_many(
            X, y, [{**{k: c[k] for k in PER_NETWORK}, "regularizer": make_regularizer(c),
                    "initializer": make_initializer(c)} for _, c in batch],
            sizes=list(shared["sizes"]), epochs=shared["epochs"],
            batch_size=shared["batch_size"], cost=make_cost(shared),
            activation=shared["activation"], seed=shared["seed"], evaluation_data=evaluation,
            monitors=_monitors(shared["monitors"]), on_divergence="mark")
    except Exception as exc:  # the task reports, the sweep goes on
        if len(batch) > 1:  # isolate the failure: no good point is lost to a bad one
            return [r for member in batch for r in run_batch([member])]
        reason = f"{type(exc).__name__}: {exc}"
        return [{"index": i, "config": c, "history": {}, "error": reason,
                 "traceback": traceback.format_exc()} for i, c in batch]
    results = []
    for (i, c), h in zip(batch, histories):
        diverged = h.last("diverged_epoch", None)
        error = None if diverged is None else f"diverged in epoch {diverged}"
        results.append({"index": i, "config": c, "error": error,
                        "history": {k: h[k].tolist() for k in h.keys()}})
    return results


class Table(list):
    """The rows of :meth:`SweepResult.table`: a list of dicts that prints as an aligned table.

    Settings shared by every row are printed once above the table; the
    columns show what varies, the final values and the error (``-`` if none).
    The rows stay plain dicts (``table[0]["eval/accuracy"]``, ``table.records``).
    """

    @property
    def records(self):
        """The rows as a plain list of dicts."""
        return list(self)

    def __str__(self):
        if not self:
            return "(no runs)"
        columns = list(self[0])
        varying = [c for c in columns
                   if c == "error" or "/" in c or len({_cell(r[c]) for r in self}) > 1]
        shared = [c for c in columns if c not in varying]
        cells = [[_cell(r[c]) for c in varying] for r in self]
        widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(varying)]
        numeric = [all(_is_number(r[c]) for r in self) for c in varying]

        def line(items):
            return "  ".join(item.rjust(w) if num else item.ljust(w)
                             for item, w, num in zip(items, widths, numeric)).rstrip()

        out = []
        if shared:
            out.append("same for all runs: " + ", ".join(f"{c}={_cell(self[0][c])}" for c in shared))
        out += [line(varying), line(["-" * w for w in widths])]
        out += [line(row) for row in cells]
        return "\n".join(out)

    def __repr__(self):
        return str(self)


def _is_number(value):
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    if isinstance(value, (tuple, list)):
        return "-".join(str(v) for v in value) if all(isinstance(v, int) for v in value) \
            else ",".join(str(v) for v in value)
    return str(value)


class SweepResult:
    """The runs of a sweep in grid order, with failures marked."""

    def __init__(self, runs):
        self.runs = sorted(runs, key=lambda r: r["index"])

    @property
    def failed(self):
        """Runs that failed, each with its config and error."""
        return [r for r in self.runs if r["error"] is not None]

    def table(self, keys=("eval/accuracy", "layer1/rms")):
        """One row per run: its config and the final value of each key (NaN if failed).

        Returns a :class:`Table`: a list of dicts that prints as an aligned table.

        Examples
        --------
        >>> result = run({"data": "random:60:5:3:0", "sizes": [5, 4, 3], "lmbda": [0.0, 1.0]})
        >>> table = result.table()
        >>> table[1]["lmbda"], len(table.records)
        (1.0, 2)
        >>> print(str(table).splitlines()[1])
        lmbda  eval/accuracy  layer1/rms  error
        """
        rows = Table()
        for r in self.runs:
            row = {k: r["config"][k] for k in ("data", "sizes", "epochs", "batch_size", "seed",
                                               *per_network()) if k in r["config"]}
            for key in keys:
                values = r["history"].get(key)
                row[key] = float(values[-1]) if values and r["error"] is None else float("nan")
            row["error"] = r["error"]
            rows.append(row)
        return rows


def run(grid, executor=None, max_batch=16, on_invalid="mark"):
    """Run every config of ``grid``; return a :class:`SweepResult`.

    Every config is validated before any training (:func:`validate`). Invalid
    points are not trained: with ``on_invalid="mark"`` they are marked failed
    with the bad value named and every valid point still trains; with
    ``on_invalid="raise"`` a ``ValueError`` lists them and nothing runs.

    Parameters
    ----------
    grid : dict or list of dict
        A grid for :func:`expand`, or configs already expanded.
    executor : concurrent.futures.Executor, optional
        Where batches run (one task per lockstep batch); in this process if None.
        A Dask cluster's ``client.get_executor()`` works the same way.
    max_batch : int
        Most networks per lockstep batch.
    on_invalid : {"mark", "raise"}
        What to do with invalid points.

    Examples
    --------
    >>> result = run({"data": "random:60:5:3:0", "sizes": [5, 4, 3], "lmbda": [0.0, 1.0]})
    >>> [r["error"] for r in result.runs]
    [None, None]
    >>> result = run({"data": "random:60:5:3:0", "sizes": [5, 4, 3], "eta": [0.1, -1.0]})
    >>> [r["error"] for r in result.runs]
    [None, 'ValueError: eta=-1.0: `eta` must be > 0, got -1.0']
    """
    if on_invalid not in ("mark", "raise"):
        raise ValueError(f"`on_invalid` must be 'mark' or 'raise', got {on_invalid!r}")
    check_scalar(max_batch, "max_batch", kind=numbers.Integral, low=1)
    configs = grid if isinstance(grid, list) else expand(grid)
    if not configs:
        raise ValueError("`grid` is empty: give at least one config")
    _check_complete(configs)
    bad = validate(configs)
    if bad and on_invalid == "raise":
        lines = "\n".join(f"  point {i}: {reason}" for i, reason in bad.items())
        raise ValueError(f"{len(bad)} of {len(configs)} grid points are invalid; nothing was "
                         f"trained:\n{lines}")
    failed = [{"index": i, "config": configs[i], "history": {}, "error": reason}
              for i, reason in bad.items()]
    good = [c if i not in bad else None for i, c in enumerate(configs)]
    work = batches(good, max_batch)
    if executor is None:
        results = [run_batch(b) for b in work]
    else:
        futures = [executor.submit(run_batch, b) for b in work]
        results = []
        for b, f in zip(work, futures):
            try:
                results.append(f.result())
            except Exception as exc:  # the worker itself died
                results.append([{"index": i, "config": c, "history": {},
                                 "error": f"task failed: {type(exc).__name__}: {exc}"}
                                for i, c in b])
    return SweepResult(failed + [r for batch in results for r in batch])
