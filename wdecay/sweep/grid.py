"""Sweeps: expand a grid of hyperparameters, train compatible runs in lockstep, gather a table.

A grid maps setting names to a value or a list of values; :func:`expand` takes
the cartesian product. Runs that share everything but the per-network settings
(eta, lmbda, regularizer, initializer, init_seed, order_seed) form lockstep
batches. Each
batch is one task: a plain, picklable function (:func:`run_batch`) of a plain
config that loads its own data, so it runs the same in this process, in a
``concurrent.futures`` process pool or on a Dask cluster
(``distributed.Client.get_executor()``), and returns plain data.
"""

from __future__ import annotations

import itertools
import traceback

import numpy as np

PER_NETWORK = ("eta", "lmbda", "regularizer", "initializer", "init_seed", "order_seed")
SHARED_DEFAULTS = {"data": "mnist-sample", "sizes": (784, 30, 10), "cost": "cross-entropy",
                   "activation": "sigmoid", "epochs": 1, "batch_size": 10, "seed": 0,
                   "monitors": ("weight_norms",)}
NETWORK_DEFAULTS = {"eta": 0.1, "lmbda": 0.0, "regularizer": "l2", "initializer": "default",
                    "init_seed": 0, "order_seed": None}
MONITORS = ("weight_norms", "layer_statistics", "sum_vs_abs_sum", "decay_prediction", "saturation")


def expand(grid):
    """The cartesian product of a grid, as a list of complete plain config dicts.

    Examples
    --------
    >>> len(expand({"lmbda": [1.0, 5.0], "eta": [0.1, 0.5], "epochs": 2}))
    4
    >>> len(expand({"sizes": [784, 30, 10]})), len(expand({"sizes": [[64, 30, 10], [64, 10]]}))
    (1, 2)
    """
    known = set(SHARED_DEFAULTS) | set(NETWORK_DEFAULTS)
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
    if key in ("sizes", "monitors"):
        return [list(v) for v in value] if value and isinstance(value[0], (list, tuple)) else [value]
    return value if isinstance(value, list) else [value]


def batches(configs, max_batch=16):
    """Group configs that can train in lockstep; each batch is a list of (index, config)."""
    groups = {}
    for i, c in enumerate(configs):
        key = tuple((k, _hashable(c[k])) for k in sorted(SHARED_DEFAULTS))
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
    the reason the run failed). This function never raises: a failure of the
    whole batch marks every run in it.
    """
    from .lockstep import train_many

    shared = batch[0][1]
    try:
        (X, y), evaluation = load_data(shared["data"])
        _, histories = train_many(
            X, y, [{k: c[k] for k in PER_NETWORK} for _, c in batch], sizes=list(shared["sizes"]),
            epochs=shared["epochs"], batch_size=shared["batch_size"], cost=shared["cost"],
            activation=shared["activation"], seed=shared["seed"], evaluation_data=evaluation,
            monitors=_monitors(shared["monitors"]), on_divergence="mark")
    except Exception as exc:  # the task reports, the sweep goes on
        reason = f"{type(exc).__name__}: {exc}"
        return [{"index": i, "config": c, "history": {}, "error": reason,
                 "traceback": traceback.format_exc()} for i, c in batch]
    results = []
    for (i, c), h in zip(batch, histories):
        diverged = h.last("diverged_epoch", None)
        error = None if diverged is None else f"diverged in epoch {diverged}"
        results.append({"index": i, "config": c, "error": error,
                        "history": {k: h[k].tolist() for k in h.keys}})
    return results


class SweepResult:
    """The runs of a sweep in grid order, with failures marked."""

    def __init__(self, runs):
        self.runs = sorted(runs, key=lambda r: r["index"])

    @property
    def failed(self):
        """Runs that failed, each with its config and error."""
        return [r for r in self.runs if r["error"] is not None]

    def table(self, keys=("eval/accuracy", "layer1/rms")):
        """One row per run: its config and the final value of each key (NaN if failed)."""
        rows = []
        for r in self.runs:
            row = {k: r["config"][k] for k in ("data", "sizes", "epochs", "batch_size", "seed",
                                               *PER_NETWORK)}
            for key in keys:
                values = r["history"].get(key)
                row[key] = float(values[-1]) if values and r["error"] is None else float("nan")
            row["error"] = r["error"]
            rows.append(row)
        return rows


def run(grid, executor=None, max_batch=16):
    """Run every config of ``grid``; return a :class:`SweepResult`.

    Parameters
    ----------
    grid : dict or list of dict
        A grid for :func:`expand`, or configs already expanded.
    executor : concurrent.futures.Executor, optional
        Where batches run (one task per lockstep batch); in this process if None.
        A Dask cluster's ``client.get_executor()`` works the same way.
    max_batch : int
        Most networks per lockstep batch.

    Examples
    --------
    >>> result = run({"data": "random:60:5:3:0", "sizes": [5, 4, 3], "lmbda": [0.0, 1.0]})
    >>> [r["error"] for r in result.runs]
    [None, None]
    """
    configs = grid if isinstance(grid, list) else expand(grid)
    work = batches(configs, max_batch)
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
    return SweepResult([r for batch in results for r in batch])
