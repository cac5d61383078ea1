"""Settings declared once: names, defaults and constraints.

Two kinds of settings, one table each:

- a run's own settings (eta, mini-batch size, epochs, seeds): their
  constraints are :data:`CONSTRAINTS`;
- a class's settings (L2's ``lmbda``, momentum's ``momentum``, Adam's
  ``beta1`` and ``beta2``): each registered class (regularizer, optimizer,
  initializer, cost) declares them with their constraints and defaults in its
  ``hyperparameters`` (:mod:`wdecay.registry`), and :func:`constraint` finds
  them there, so a class registered later (outside the package) is checked
  the same way, and :func:`make` builds it from a run's settings.

``wdecay experiment``, its command line, its summary and its checkpoints read
the experiment's settings (:data:`DEFAULTS`, plus the settings of the classes
a run names: :func:`settings_of`) from here; ``train_many`` and the sweep grid
read the per-network ones (:data:`NETWORK_DEFAULTS`); ``fit``, ``train_many``,
the grid and the experiment check numeric settings through :func:`check`.
(The experiment says ``init`` and ``seed`` where the grid says
``initializer`` and ``init_seed``.)

Examples
--------
>>> DEFAULTS["lmbda"], DEFAULTS["sizes"], DEFAULTS["beta2"]
(5.0, [784, 30, 10], 0.999)
>>> OPTIMIZER_SETTINGS["adam"]
('beta1', 'beta2')
"""

from __future__ import annotations

from collections.abc import Mapping

from .costs import COSTS
from .initializers import INITIALIZERS
from .optim import OPTIMIZERS
from .registry import check_value, integer, real, reserve
from .regularizers import REGULARIZERS

#: The registries whose classes a run names, by the setting that names them.
FAMILIES = {"regularizer": REGULARIZERS, "optimizer": OPTIMIZERS, "init": INITIALIZERS,
            "cost": COSTS}


def _first_defaults(registry):
    """Each declared setting's default, from the first class that declares one."""
    out = {}
    for entry in registry.values():
        for key, (_, default) in getattr(entry, "hyperparameters", {}).items():
            if default is not None:
                out.setdefault(key, default)
    return out


#: The book's experiment (Nielsen, chapter 3) on the embedded sample; the optimizers'
#: settings (momentum, beta1, beta2) take the defaults their classes declare.
DEFAULTS = dict(sizes=[784, 30, 10], init="large", cost="cross-entropy", activation="sigmoid",
                regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=30, seed=0,
                optimizer="sgd", **_first_defaults(OPTIMIZERS))


class _Declared(Mapping):
    """``{name: (setting, ...)}`` of a registry, read live (a class registered later is in it)."""

    def __init__(self, registry):
        self._registry = registry

    def __getitem__(self, name):
        return tuple(getattr(self._registry[name], "hyperparameters", {}))

    def __iter__(self):
        return iter(self._registry)

    def __len__(self):
        return len(self._registry)

    def __repr__(self):
        return repr(dict(self))


#: The settings each optimizer takes from a run's settings (the others are ignored).
OPTIMIZER_SETTINGS = _Declared(OPTIMIZERS)
#: The settings each regularizer takes from a run's settings.
REGULARIZER_SETTINGS = _Declared(REGULARIZERS)

#: The constraints of a run's own numeric settings; every caller (fit, train_many, the
#: sweep grid, the experiment) checks a setting of this name through check(), so the
#: bounds cannot drift apart. The classes' settings are declared by the classes.
CONSTRAINTS = {
    "eta": real(0, inclusive=False),
    "batch_size": integer(1),
    "epochs": integer(0),
    "seed": integer(0),
    "init_seed": integer(0),
    "order_seed": integer(0),
}

#: Per-network settings of train_many and the sweep grid, with their defaults.
NETWORK_DEFAULTS = {"eta": 0.1, "lmbda": 0.0, "regularizer": "l2", "initializer": "default",
                    "init_seed": 0, "order_seed": None}


#: The settings of a run (and of a grid's network) that no class may declare as its own.
RUN_SETTINGS = tuple(dict.fromkeys(
    [*DEFAULTS, *CONSTRAINTS, *NETWORK_DEFAULTS, "dataset", "n_train"]))


def class_settings():
    """``{setting: constraint}`` of every setting a registered class of :data:`FAMILIES` declares."""
    out = {}
    for registry in FAMILIES.values():
        out.update(registry.settings())
    return out


reserve([k for k in RUN_SETTINGS if k not in class_settings()], "a run's own setting")


def constraint(name):
    """The constraint of setting ``name``: a run's own, or the one its classes declare."""
    if name in CONSTRAINTS:
        return CONSTRAINTS[name]
    declared = class_settings()
    if name not in declared:
        raise KeyError(f"no setting {name!r}; known: {sorted({**CONSTRAINTS, **declared})}")
    return declared[name]


def settings_of(settings):
    """The defaults of the settings the classes named in ``settings`` declare (:data:`FAMILIES`).

    Examples
    --------
    >>> settings_of({"regularizer": "l2", "optimizer": "lion"})
    {'beta1': 0.9, 'beta2': 0.99}
    """
    out = {}
    for key in FAMILIES:
        if isinstance(settings.get(key), str) and settings[key].lower() in FAMILIES[key]:
            out.update(FAMILIES[key].defaults(settings[key]))
    return out


def make(family, settings):
    """The instance of the class ``settings[family]`` names, with the settings it declares.

    ``family`` is a key of :data:`FAMILIES` (``"init"``, ``"cost"``, ...); each
    declared setting is taken from ``settings`` (else its default) and checked
    against its constraint. A value that is not a registered name (an
    instance, a class name such as ``"CrossEntropyCost"``) is returned as is.

    Examples
    --------
    >>> make("cost", {"cost": "quadratic"})
    QuadraticCost()
    """
    registry, value = FAMILIES[family], settings[family]
    if not (isinstance(value, str) and value.lower() in registry):
        return value
    return registry.make(value, {k: v for k, v in settings.items() if v is not None})


def check(name, value, label=None):
    """Check setting ``name`` against its constraint (:func:`constraint`); return ``value``.

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
    >>> check("lmbda", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: `lmbda` must be >= 0, got -1.0
    """
    return check_value(name, value, constraint(name), label)
