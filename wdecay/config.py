"""Settings declared once: names, defaults and constraints.

``wdecay experiment``, its command line, its summary and its checkpoints read
the experiment's settings (:data:`DEFAULTS`) from here; ``train_many`` and the
sweep grid read the per-network ones (:data:`NETWORK_DEFAULTS`); ``fit``,
``train_many``, the grid and the experiment check numeric settings through
:func:`check` and its one table, :data:`CONSTRAINTS`. (The experiment says
``init`` and ``seed`` where the grid says ``initializer`` and ``init_seed``.)

Examples
--------
>>> DEFAULTS["lmbda"], DEFAULTS["sizes"]
(5.0, [784, 30, 10])
>>> OPTIMIZER_SETTINGS["adam"]
('beta1', 'beta2')
"""

from __future__ import annotations

import numbers

from ._validation import check_scalar

#: The book's experiment (Nielsen, chapter 3) on the embedded sample.
DEFAULTS = dict(sizes=[784, 30, 10], init="large", cost="cross-entropy", activation="sigmoid",
                regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=30, seed=0,
                optimizer="sgd", momentum=0.9, beta1=0.9, beta2=0.999)

#: The settings each optimizer takes from a run's settings (the others are ignored).
OPTIMIZER_SETTINGS = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",),
                      "adam": ("beta1", "beta2"), "adamw": ("beta1", "beta2")}


# -- one table of the numeric settings' constraints ------------------------------------------
# (kind, low, inclusive): every caller (fit, train_many, the sweep grid, the experiment)
# checks a setting of this name through check(), so the bounds cannot drift apart.
_INTEGER, _REAL = "integer", "real"
CONSTRAINTS = {
    "eta": (_REAL, 0, False),
    "lmbda": (_REAL, 0, True),
    "batch_size": (_INTEGER, 1, True),
    "epochs": (_INTEGER, 0, True),
    "seed": (_INTEGER, 0, True),
    "init_seed": (_INTEGER, 0, True),
    "order_seed": (_INTEGER, 0, True),
    "momentum": (_REAL, 0, True),
    "beta1": (_REAL, 0, True),
    "beta2": (_REAL, 0, True),
}

#: Per-network settings of train_many and the sweep grid, with their defaults.
NETWORK_DEFAULTS = {"eta": 0.1, "lmbda": 0.0, "regularizer": "l2", "initializer": "default",
                    "init_seed": 0, "order_seed": None}


def check(name, value, label=None):
    """Check setting ``name`` against :data:`CONSTRAINTS`; return ``value``.

    ``label`` names it in the message (default ``name``). Raises ``TypeError``
    or ``ValueError`` naming the setting and what is expected.

    Examples
    --------
    >>> check("epochs", 0)
    0
    >>> check("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: `batch_size` must be >= 1, got 0
    """
    kind, low, inclusive = CONSTRAINTS[name]
    check_scalar(value, label or name, kind=numbers.Integral if kind == _INTEGER else numbers.Real,
                 low=low, inclusive=inclusive)
    return value
