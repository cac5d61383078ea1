"""What ``wdecay path`` computes and says: the task, the settings, the rows and the summary.

The command line only parses the options and prints or writes what these
functions return: :func:`check_options` checks the options (the one copy of
those checks), :func:`task` picks the problem from the data, :func:`solve`
runs the path and returns its settings, rows and summary numbers, and
:func:`header`, :func:`table` and :func:`summary_text` turn them into text.
"""

from __future__ import annotations

import math

import numpy as np

from .path import regularization_path

#: The digits of the binary task when none are given.
DEFAULT_DIGITS = (3, 8)
PENALTY_TEXT = {"l2": "L2: (lmbda/2n) sum w^2 added to C0", "l1": "L1: (lmbda/n) sum |w| added to C0"}
COST_TEXT = {"logistic": "mean cross-entropy", "softmax": "mean log-likelihood cost -ln a_y"}


def check_options(n_lmbdas, lmbdas=None, digits=None, multiclass=False):
    """Refuse options that cannot make a path, naming the option; nothing is loaded.

    Examples
    --------
    >>> check_options(20, digits=(3, 3))
    Traceback (most recent call last):
    ...
    ValueError: argument --digits: two different digits are needed, got 3 3
    """
    if n_lmbdas < 2:
        raise ValueError(f"argument --n-lmbdas: must be >= 2, got {n_lmbdas}")
    if lmbdas is not None and not all(l > 0 and math.isfinite(l) for l in lmbdas):
        raise ValueError(f"argument --lmbdas: values must be positive and finite, got {lmbdas}")
    if multiclass and digits is not None:
        raise ValueError("--multiclass uses all ten digits; drop --digits (or --multiclass)")
    if digits is not None:
        a, b = digits
        if not (0 <= a <= 9 and 0 <= b <= 9):
            raise ValueError(f"argument --digits: digits are 0-9, got {a} {b}")
        if a == b:
            raise ValueError(f"argument --digits: two different digits are needed, got {a} {b}")


def task(splits, digits=None, multiclass=False):
    """``(model, X, Y, X_eval, Y_eval, description)`` of the problem, from checked options.

    ``multiclass``: all classes, softmax regression; else digit A (target 0)
    against digit B (target 1), logistic regression, on the rows of those two.
    """
    (X, y), (Xv, yv), _ = splits
    if multiclass:
        return "softmax", X, y, Xv, yv, f"classes 0-{int(np.max(y))} (softmax regression)"
    a, b = DEFAULT_DIGITS if digits is None else digits
    keep, keep_v = np.isin(y, (a, b)), np.isin(yv, (a, b))
    if not keep.any() or not keep_v.any():
        raise ValueError(f"argument --digits: the data have no examples of digits {a} and {b}")
    Y = (y[keep] == b).astype(float)[:, None]
    Yv = (yv[keep_v] == b).astype(float)[:, None]
    return ("logistic", X[keep], Y, Xv[keep_v], Yv,
            f"digit {a} (target 0) against digit {b} (target 1), logistic regression")


def solve(splits, dataset, penalty="l2", n_lmbdas=20, lmbdas=None, digits=None,
          multiclass=False):
    """Solve the path; return ``(result, settings, rows, summary numbers)``.

    ``dataset`` is the data set's words (``"mnist-sample"``), for the settings.
    """
    check_options(n_lmbdas, lmbdas, digits, multiclass)
    model, X, Y, Xv, Yv, description = task(splits, digits, multiclass)
    result = regularization_path(X, Y, lmbdas=lmbdas, model=model, penalty=penalty,
                                 n_lmbdas=n_lmbdas, evaluation_data=(Xv, Yv))
    settings = {"dataset": dataset, "task": description, "model": model,
                "penalty": penalty, "n_train": len(X), "n_eval": len(Xv),
                "n_features": X.shape[1], "grid": "default" if lmbdas is None else "given",
                "n_lmbdas": len(result.lmbdas), "lmbda_top": float(np.max(result.lmbdas)),
                "lmbda_bottom": float(np.min(result.lmbdas)),
                "digits": None if multiclass else list(digits or DEFAULT_DIGITS)}
    return result, settings, rows(result, penalty), summarize(result, penalty)


def header(settings):
    """The lines printed above the path's table: data, task, n, penalty, grid, definitions."""
    s = settings
    grid = (f"{s['n_lmbdas']} values log-spaced from lmbda_max = {s['lmbda_top']:.4g} down to "
            f"{s['lmbda_bottom']:.4g}" if s["grid"] == "default" else
            f"{s['n_lmbdas']} given values from {s['lmbda_top']:.4g} down to {s['lmbda_bottom']:.4g}")
    return [
        f"Exact optima of {s['task']}",
        f"  data:     {s['dataset']}: n = {s['n_train']} training, {s['n_eval']} evaluation "
        f"examples, {s['n_features']} inputs",
        f"  penalty:  {PENALTY_TEXT[s['penalty']]}, n = {s['n_train']}; biases are not penalized",
        f"  grid:     {grid}",
        f"  C0:       the {COST_TEXT[s['model']]} over the training examples, without the "
        f"penalty; eval C0 the same on the evaluation examples",
        "  residual: 2-norm of the gradient of C0 + penalty at the solution (for L1, the part "
        "no subgradient cancels); 0 at the exact optimum",
    ]


def summarize(result, penalty):
    """The path's summary: a dict of numbers, and :func:`summary_text` for sentences.

    ``fastest_fall`` is the pair of neighbouring grid values across which the
    penalty's norm (sum w^2 for L2, sum |w| for L1) falls most per decade of
    lmbda; ``share_per_decade`` is that fall as a fraction of the norm's largest
    value on the grid. ``best_eval`` holds the lmbda of the best evaluation
    accuracy (the largest lmbda among ties) and of the lowest evaluation cost.
    """
    lm = np.asarray(result.lmbdas, dtype=float)
    norm = np.asarray(result.l2_norm2 if penalty == "l2" else result.l1_norm, dtype=float)
    order = np.argsort(lm)
    lm, norm = lm[order], norm[order]
    summary = {"norm": "sum_w2" if penalty == "l2" else "sum_abs_w"}
    if len(lm) >= 2 and norm.max() > 0:
        per_decade = (norm[:-1] - norm[1:]) / np.log10(lm[1:] / lm[:-1]) / norm.max()
        i = int(np.argmax(per_decade))
        summary["fastest_fall"] = {"lmbda_from": float(lm[i]), "lmbda_to": float(lm[i + 1]),
                                   "norm_from": float(norm[i]), "norm_to": float(norm[i + 1]),
                                   "share_per_decade": float(per_decade[i])}
    if result.eval_accuracy is not None:
        acc = np.asarray(result.eval_accuracy)
        cost = np.asarray(result.eval_cost)
        best = int(np.argmax(acc))  # largest lmbda among equal accuracies: the first
        low = int(np.argmin(cost))
        summary["best_eval"] = {"lmbda": float(result.lmbdas[best]), "accuracy": float(acc[best]),
                                "lowest_cost_lmbda": float(result.lmbdas[low]),
                                "lowest_cost": float(cost[low])}
    nm = result.nonmonotone()
    summary["nonmonotone"] = {"count": int(nm.count), "of": int(nm.checked),
                              "largest_excursion": float(nm.largest_excursion),
                              "tolerance": float(nm.tolerance),
                              "skipped_zero_columns": int(nm.skipped_zero_columns)}
    return summary


def summary_text(summary):
    """The summary numbers of :func:`summarize` in sentences."""
    name = {"sum_w2": "sum w^2", "sum_abs_w": "sum |w|"}[summary["norm"]]
    lines = ["Summary:"]
    f = summary.get("fastest_fall")
    if f:
        change = (f" ({100 * (f['norm_to'] / f['norm_from'] - 1):+.0f}%)"
                  if f["norm_from"] > 0 else "")
        lines.append(f"  The norm falls fastest between lmbda = {f['lmbda_from']:.4g} and "
                     f"{f['lmbda_to']:.4g}, where {name} goes from {f['norm_from']:.4g} to "
                     f"{f['norm_to']:.4g}{change}: the largest absolute fall per decade of lmbda on "
                     f"this grid.")
    else:
        lines.append(f"  {name} is 0 all along the grid.")
    b = summary.get("best_eval")
    if b:
        lines.append(f"  Best evaluation accuracy {b['accuracy']:.4f} at lmbda = {b['lmbda']:.4g}; "
                     f"lowest evaluation C0 {b['lowest_cost']:.4f} at lmbda = "
                     f"{b['lowest_cost_lmbda']:.4g}.")
    nm = summary.get("nonmonotone")
    if nm:
        k = nm["skipped_zero_columns"]
        skipped = (f"; {k} coefficient{' that is' if k == 1 else 's that are'} 0 all along "
                   f"skipped" if k else "")
        lines.append(f"  Non-monotone coefficients: {nm['count']} of {nm['of']} do not change "
                     f"monotonically along the path (largest excursion "
                     f"{nm['largest_excursion']:.3g}, tolerance {nm['tolerance']:.1e}{skipped}).")
    return "\n".join(lines)


def rows(result, penalty="l2"):
    """One dict per lmbda; ``nonzero`` only under L1 (L2 zeroes no weight but round-off)."""
    nonzero = result.n_nonzero if penalty == "l1" else None
    out = []
    for i, l in enumerate(result.lmbdas):
        row = {"lmbda": float(l), "sum_w2": float(result.l2_norm2[i]),
               "sum_abs_w": float(result.l1_norm[i]), "train_cost": float(result.train_cost[i]),
               "residual": float(result.residual[i])}
        if result.eval_cost is not None:
            row.update(eval_cost=float(result.eval_cost[i]),
                       eval_accuracy=float(result.eval_accuracy[i]))
        if nonzero is not None:
            row["nonzero"] = int(nonzero[i])
        out.append(row)
    return out


def table(path_rows):
    """The rows as aligned text lines, a header line first."""
    cols = [("lmbda", "lmbda", 12, ".4g"), ("sum_w2", "sum w^2", 12, ".5g"),
            ("sum_abs_w", "sum |w|", 12, ".5g"), ("nonzero", "nonzero", 8, "d"),
            ("train_cost", "C0", 10, ".5f"), ("eval_cost", "eval C0", 10, ".5f"),
            ("eval_accuracy", "eval acc", 8, ".4f"), ("residual", "residual", 9, ".1e")]
    cols = [c for c in cols if c[0] in path_rows[0]]
    lines = [" ".join(f"{head:>{w}}" for _, head, w, _ in cols)]
    for r in path_rows:
        lines.append(" ".join(f"{r[k]:>{w}{fmt}}" for k, _, w, fmt in cols))
    return lines
