"""Checks of user input that raise errors naming the parameter and what was expected."""

from __future__ import annotations

import numbers

import numpy as np


def check_scalar(value, name, *, kind=numbers.Real, low=None, inclusive=True):
    """Return ``value`` if it is a finite number of ``kind`` above ``low``.

    Raises ``TypeError`` for the wrong type and ``ValueError`` for a value out of
    bounds, with messages such as "`eta` must be > 0, got -0.1".
    """
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if kind is numbers.Integral else "a real number"
        raise TypeError(f"`{name}` must be {what}, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    if low is not None:
        ok = value >= low if inclusive else value > low
        if not ok:
            op = ">=" if inclusive else ">"
            raise ValueError(f"`{name}` must be {op} {low}, got {value!r}")
    return value


def check_features(X, name="X", n_features=None, dtype=np.float64):
    """Return ``X`` as a C-contiguous array of ``dtype``, shape (n_samples, n_features).

    Raises ``ValueError`` for the wrong number of dimensions or columns, for an
    empty array and for NaN or inf entries.
    """
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a numeric array, got {type(X).__name__}") from exc
    _refuse_complex(raw, name)
    try:
        X = np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a numeric array, got {type(X).__name__}") from exc
    if X.ndim != 2:
        raise ValueError(
            f"`{name}` must have shape (n_samples, n_features), got an array of shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"`{name}` is empty: it must have at least one sample")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"`{name}` must have {n_features} columns (the network's input size), "
            f"got shape {X.shape}"
        )
    bad = count_nonfinite(X)
    if bad:
        raise ValueError(f"`{name}` contains {bad} NaN or inf values; it must be finite")
    return np.ascontiguousarray(X)


def count_nonfinite(a):
    """The number of NaN and inf entries of the float array ``a``, exactly.

    One sum first: NaN and inf propagate through it (and inf - inf is NaN), so
    a finite sum proves every entry finite, in one read of ``a`` and no
    temporary array. Only a sum that is not finite, from a bad entry or from
    finite entries whose sum overflows, runs the element-wise count
    (:func:`_count_nonfinite_exact`), which then decides.

    Examples
    --------
    >>> count_nonfinite(np.array([1.0, np.inf, -np.inf, np.nan]))
    3
    >>> count_nonfinite(np.array([1e308, 1e308]))  # the sum overflows; the entries are finite
    0
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(a, axis=None)
    if np.isfinite(total):
        return 0
    return _count_nonfinite_exact(a)


def _count_nonfinite_exact(a):
    """The element-wise count of NaN and inf entries (a boolean temporary the size of ``a``)."""
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def _refuse_complex(a, name):
    if a.dtype.kind == "c":
        raise TypeError(
            f"`{name}` must be real, got dtype {a.dtype}: casting would drop the imaginary "
            f"part; pass `{name}.real` if it is zero, or the features you mean")


#: Tolerance on a one-hot (or probability) row's sum, sum_c y_c = 1.
ROW_SUM_TOL = 1e-6


def check_targets(y, n_samples, n_classes, name="y", dtype=np.float64, rows_sum_to_one=True):
    """Return ``(labels, targets)`` for integer labels (n,) or one-hot targets (n, k).

    ``labels`` are integer class indices (the argmax of one-hot rows) and
    ``targets`` is a C-contiguous array of ``dtype``, shape (n_samples, n_classes).
    Targets of shape (n, k) must lie in [0, 1]; with ``rows_sum_to_one`` and
    k >= 2 every row must also sum to 1 (within ``ROW_SUM_TOL``): one-hot rows
    or class probabilities, never a row of zeros. Pass ``rows_sum_to_one=False``
    for independent (one-vs-rest) binary targets.
    """
    y = np.asarray(y)
    _refuse_complex(y, name)
    if y.shape[:1] != (n_samples,):
        raise ValueError(
            f"`{name}` must have {n_samples} rows to match X, got shape {y.shape}"
        )
    if y.ndim == 1:
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise ValueError(f"`{name}` labels must be integers, got non-integer values")
        elif y.dtype.kind not in "iu":
            raise TypeError(f"`{name}` labels must be integers, got dtype {y.dtype}")
        # the range is checked on the labels as given, before any cast can wrap them
        # (uint64 >= 2**63, floats beyond the integers)
        low, high = y.min(), y.max()
        if low < 0 or high >= n_classes:
            show = (lambda v: int(v)) if y.dtype.kind in "iu" else (lambda v: f"{float(v):g}")
            raise ValueError(
                f"`{name}` labels must be in [0, {n_classes - 1}] (the network has "
                f"{n_classes} outputs), got values in [{show(low)}, {show(high)}]"
            )
        labels = y.astype(np.intp)
        targets = np.zeros((n_samples, n_classes), dtype=dtype)
        targets[np.arange(n_samples), labels] = 1.0
        return labels, targets
    if y.ndim == 2:
        if y.shape[1] != n_classes:
            raise ValueError(
                f"one-hot `{name}` must have {n_classes} columns (the network's output "
                f"size), got shape {y.shape}"
            )
        targets = np.ascontiguousarray(y, dtype=dtype)
        if count_nonfinite(targets):
            raise ValueError(f"`{name}` contains NaN or inf values; it must be finite")
        _check_one_hot(targets, name, rows_sum_to_one)
        return np.argmax(targets, axis=1), targets
    raise ValueError(
        f"`{name}` must be integer labels of shape (n,) or one-hot of shape (n, k), "
        f"got shape {y.shape}"
    )


def _check_one_hot(targets, name, rows_sum_to_one):
    """Refuse (n, k) targets outside [0, 1] and, if asked, rows not summing to 1."""
    low, high = targets.min(), targets.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"one-hot `{name}` must hold values in [0, 1], got values in [{low:g}, {high:g}]; "
            "pass one 1 per row (or class probabilities), or integer labels of shape (n,)")
    if not rows_sum_to_one or targets.shape[1] < 2:
        return
    sums = targets.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOL)
    if bad.size:
        first = int(bad[0])
        what = ("are all zero" if sums[first] == 0 and np.all(sums[bad] == 0)
                else "do not sum to 1")
        raise ValueError(
            f"one-hot `{name}`: {bad.size} of {len(sums)} rows {what} (row {first} sums to "
            f"{sums[first]:g}); every row must hold one 1 (or class probabilities "
            "summing to 1), or pass integer labels of shape (n,)")


def lookup(registry, value, family):
    """Return ``registry[value]`` for a name, with an error listing the choices."""
    key = str(value).lower()
    if key not in registry:
        choices = ", ".join(repr(k) for k in sorted(registry))
        raise ValueError(f"unknown {family} {value!r}; choose one of {choices}")
    return registry[key]
