"""Registries: each family (regularizers, optimizers, initializers, costs) maps names to classes.

A class joins its family's registry by declaring its own ``name`` (through the
base class's ``__init_subclass__``), and declares its settings in
``hyperparameters``: ``{setting: (constraint, default)}``, ``default`` None
when the setting has none (it must be given). The command line,
``wdecay experiment`` (its ``--resume`` and summary included) and the sweep
grid read names, constraints and defaults from here, so a new class reaches
them without an edit elsewhere: a regularizer, initializer or cost all of
them; an optimizer the command line, the experiment and ``fit`` by name (the
grid and ``train_many`` train plain SGD only). ``tests/test_registry.py``
registers an elastic net and an RMSprop of its own and runs both through
``wdecay experiment``, the elastic net also through a sweep;
``tests/test_registry_declarations.py`` does so for an initializer and a cost
with settings, which a saved model keeps (:mod:`wdecay.serialization`).
A subclass that keeps a name but should not be chosen by it opts out with
``class MyL2(L2, register=False)``.

Registration refuses, naming the class and the setting: a declaration that is
not ``(constraint, default)``, a default its constraint refuses, a setting
named like a run's own setting or a command-line option (:data:`RESERVED`),
and a setting declared elsewhere with another constraint.

A constraint is ``(kind, low, high, closed)``: an ``"integer"`` or ``"real"``
between ``low`` and ``high`` (None: unbounded on that side), ``closed`` saying
which ends are included (``"left"``, ``"right"``, ``"both"``, ``"neither"``), made
by :func:`real` and :func:`integer` (never empty) and checked by
:func:`check_value`, whose message names the bound broken and, with two
bounds, the whole range. An older ``(kind, low, inclusive)`` is read as
having no upper bound. A class checks its own settings by the constraints it
declares (:func:`check_declared`), so Python, the command line and the grid
apply one rule.

The module also holds :class:`Stateless`, the base of the families whose
objects are equal when their class and declared settings are, and
:func:`resolve`, which makes one from an instance, a class or a name.

Examples
--------
>>> check_value("lmbda", 5.0, real(0))
5.0
>>> check_value("eta", 0.0, real(0, inclusive=False))
Traceback (most recent call last):
...
ValueError: `eta` must be > 0, got 0.0
>>> check_value("beta1", 1.0, real(0, high=1))
Traceback (most recent call last):
...
ValueError: `beta1` must be < 1, got 1.0: it takes a real number in [0, 1)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import check_scalar, lookup

INTEGER, REAL = "integer", "real"
#: Which ends of ``[low, high]`` a constraint includes (scikit-learn's ``Interval.closed``).
CLOSED = ("left", "right", "both", "neither")


def real(low=None, inclusive=True, *, high=None, high_inclusive=False):
    """The constraint "a finite real number >= low" (``> low`` unless ``inclusive``), and
    ``< high`` (``<= high`` if ``high_inclusive``) when ``high`` is given; None: no bound.

    Examples
    --------
    >>> real(0)
    ('real', 0, None, 'left')
    >>> real(0, high=1)  # [0, 1), as Adam's betas
    ('real', 0, 1, 'left')
    """
    return (REAL, low, high, _closed(inclusive, high_inclusive))


def integer(low=None, *, high=None):
    """The constraint "an integer >= low" (and ``<= high`` when given)."""
    return (INTEGER, low, high, "both")


def _closed(low_inclusive, high_inclusive):
    return CLOSED[[(True, False), (False, True), (True, True), (False, False)].index(
        (bool(low_inclusive), bool(high_inclusive)))]


def as_constraint(constraint):
    """``constraint`` as ``(kind, low, high, closed)``; an older ``(kind, low, inclusive)`` is
    read as having no upper bound. Raises ``TypeError`` for anything else."""
    c = constraint
    if isinstance(c, tuple) and len(c) == 3 and isinstance(c[2], bool):
        c = (c[0], c[1], None, "left" if c[2] else "neither")
    ok = (isinstance(c, tuple) and len(c) == 4 and c[0] in (INTEGER, REAL) and c[3] in CLOSED
          and all(b is None or (isinstance(b, numbers.Real) and not isinstance(b, bool)
                                and b == b) for b in c[1:3])
          and (c[1] is None or c[2] is None or c[1] < c[2]
               or (c[1] == c[2] and c[3] == "both")))  # never an empty range
    if not ok:
        raise TypeError(f"expected a constraint (kind, low, high, closed) such as real(0) or "
                        f"real(0, high=1), got {constraint!r}")
    return c


def describe(constraint):
    """The values a constraint allows, in words: ``"a real number in [0, 1)"``.

    Examples
    --------
    >>> describe(real(0, inclusive=False))
    'a real number > 0'
    >>> describe(real(0, high=1)), describe(integer(1))
    ('a real number in [0, 1)', 'an integer >= 1')
    """
    kind, low, high, closed = as_constraint(constraint)
    what = "an integer" if kind == INTEGER else "a real number"
    left, right = closed in ("left", "both"), closed in ("right", "both")
    if low is not None and high is not None:
        return f"{what} in {'[' if left else '('}{low}, {high}{']' if right else ')'}"
    if low is not None:
        return f"{what} {'>=' if left else '>'} {low}"
    if high is not None:
        return f"{what} {'<=' if right else '<'} {high}"
    return what


def check_value(name, value, constraint, label=None):
    """Return ``value`` if it meets ``constraint``; else raise naming ``label`` (default ``name``).

    The message names the bound it breaks, and the whole range when there are two:
    "`beta1` must be < 1, got 1.0: it takes a real number in [0, 1)".
    """
    kind, low, high, closed = as_constraint(constraint)
    label = label or name
    number = _as_float(value) if kind == REAL else value
    try:
        check_scalar(number, label, kind=numbers.Integral if kind == INTEGER else numbers.Real,
                     low=low, inclusive=closed in ("left", "both"))
        if high is not None:
            inclusive = closed in ("right", "both")
            if not (number <= high if inclusive else number < high):
                raise ValueError(f"`{label}` must be {'<=' if inclusive else '<'} {high}, "
                                 f"got {value!r}")
    except (TypeError, ValueError) as exc:
        if low is None or high is None:  # the message's bound is the whole range
            raise
        raise type(exc)(f"{exc}: it takes {describe(constraint)}") from None
    return value


def _as_float(value):
    """A real number numpy cannot test for finiteness (a ``Fraction``, an int beyond int64)
    as a float, so that it is judged by its value; anything else as is."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and (
            not isinstance(value, (int, float, np.number))
            or (isinstance(value, int) and abs(value) >= 2 ** 63)):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    return value


def check_declared(obj, **values):
    """Check ``values`` against the constraints ``type(obj)`` declares; return them.

    A class calls it on its own settings in ``__init__``, so a direct
    construction is checked by the same rule as the command line and the grid.
    ``constraints`` (``{setting: constraint}``) holds settings the registry does
    not expose (Adam's ``eps``); ``hyperparameters`` the others.

    Examples
    --------
    >>> class Box:
    ...     constraints = {"side": real(0, inclusive=False)}
    >>> check_declared(Box(), side=2.0)
    {'side': 2.0}
    """
    table = {**getattr(type(obj), "constraints", {}),
             **{k: c for k, (c, _) in declared(type(obj)).items()}}
    for key, value in values.items():
        if key not in table:
            raise TypeError(f"{_where(type(obj))} checks setting {key!r} but declares no "
                            "constraint for it: add it to its hyperparameters, e.g. "
                            f"{{{key!r}: (real(0), 0.9)}}, or to its constraints")
        check_value(key, value, table[key])
    return values


def parse(constraint):
    """The command-line type of a constraint's values: ``int`` or ``float``."""
    return int if constraint[0] == INTEGER else float


#: Every family's registry: a setting's constraint is one across all of them.
REGISTRIES = []

#: Setting names no class may declare, each with its owner (:func:`reserve`): a run's
#: own settings (eta, epochs, ...) and the command line's other options.
RESERVED = {}


def reserve(names, owner):
    """Keep the setting ``names`` from every class's ``hyperparameters``; ``owner`` says whose.

    Raises ``ValueError`` if a registered class already declares one of them.
    """
    for key in names:
        RESERVED.setdefault(key, owner)
    for registry in REGISTRIES:
        for name, entry in registry.items():
            _check_reserved(declared(entry), registry.family, name)


def _check_reserved(hyperparameters, family, name):
    for key in hyperparameters:
        if key in RESERVED:
            raise ValueError(f"{family} {name!r} declares setting {key!r}, which is "
                             f"{RESERVED[key]}: give its setting another name")


def check_hyperparameters(hyperparameters, where):
    """Return ``hyperparameters`` as a dict if each is ``setting: (constraint, default)``.

    A constraint is :func:`real`'s or :func:`integer`'s; a default is None or a
    value that meets it. Raises ``TypeError`` or ``ValueError`` naming ``where``
    and the setting.
    """
    if not isinstance(hyperparameters, dict):
        raise TypeError(f"{where}.hyperparameters must be a dict {{setting: (constraint, "
                        f"default)}}, got {type(hyperparameters).__name__}")
    hyperparameters = dict(hyperparameters)
    for key, spec in hyperparameters.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"{where} declares a setting named {key!r}; expected a name such "
                             "as 'lmbda' (letters, digits, underscores)")
        try:
            ok = isinstance(spec, tuple) and len(spec) == 2 and bool(as_constraint(spec[0]))
        except TypeError:
            ok = False
        if not ok:
            raise TypeError(f"{where} declares setting {key!r} as {spec!r}; expected "
                            "(constraint, default), e.g. (real(0), 0.9), "
                            "(real(0, high=1), 0.9) or (integer(1), None)")
        spec = hyperparameters[key] = (as_constraint(spec[0]), spec[1])
        if spec[1] is not None:
            try:
                check_value(key, spec[1], spec[0])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where} declares the default {spec[1]!r} of setting "
                                 f"{key!r}, which its constraint refuses: {exc}") from None
    return dict(hyperparameters)


class Registry(dict):
    """``name -> class`` (or factory) of one family; :meth:`add` checks names and settings.

    Every entry's ``hyperparameters``, in every family, share one table: a
    setting declared by two entries has one constraint (its defaults may differ).
    """

    def __init__(self, family):
        super().__init__()
        self.family = family
        REGISTRIES.append(self)

    def add(self, entry, name=None, hyperparameters=None):
        """Register ``entry`` under ``name`` (default ``entry.name``); return ``entry``.

        Registering a class again (a module reloaded) replaces it; another entry
        of a name already taken, or a setting whose constraint differs from its
        other declarations, is refused.
        """
        name = entry.name if name is None else name
        if hyperparameters is None:
            hyperparameters = getattr(entry, "hyperparameters", None) or {}
            keep = False
        else:
            keep = True
        own = check_hyperparameters(hyperparameters, _where(entry))
        if not isinstance(name, str) or not name or name != name.lower():
            raise ValueError(f"a {self.family} name must be a non-empty lower-case string, "
                             f"got {name!r}")
        old = self.get(name)
        if old is not None and _where(old) != _where(entry):
            raise ValueError(f"{self.family} {name!r} is taken by {_where(old)}; "
                             f"give {_where(entry)} another name")
        _check_reserved(own, self.family, name)
        for key, (constraint, _) in own.items():
            for registry in REGISTRIES:
                for other_name, other in registry.items():
                    theirs = declared(other).get(key)
                    if (registry is not self or other_name != name) and theirs is not None \
                            and theirs[0] != constraint:
                        raise ValueError(f"{_where(entry)} declares setting {key!r} as "
                                         f"{constraint}, but {registry.family} {other_name!r} "
                                         f"as {theirs[0]}: one setting, one constraint")
        if keep:  # only once every check passed
            entry.hyperparameters = own
        self[name] = entry
        return entry

    def lookup(self, value):
        """The entry of name ``value`` (case-insensitive), with an error listing the choices."""
        return lookup(self, value, self.family)

    def settings(self):
        """``{setting: constraint}`` of every setting some entry declares, in declaration order."""
        out = {}
        for entry in self.values():
            for key, (constraint, _) in declared(entry).items():
                out.setdefault(key, constraint)
        return out

    def defaults(self, name):
        """``{setting: default}`` of entry ``name``'s settings that have a default."""
        return {k: d for k, (_, d) in declared(self.lookup(name)).items() if d is not None}

    def make(self, name, settings, label=None):
        """An instance of entry ``name`` with its declared settings taken from ``settings``.

        Each declared setting is checked against its constraint; one that has
        no default and is missing from ``settings`` is refused, naming it.
        """
        entry = self.lookup(name)
        kwargs = {}
        for key, (constraint, default) in declared(entry).items():
            value = settings.get(key, default)
            if value is None:
                raise TypeError(f"{self.family} {name!r} needs the setting {key!r}")
            kwargs[key] = check_value(key, value, constraint, label)
        return entry(**kwargs)


class Stateless:
    """Base of the strategy objects of a family (costs, initializers, activations).

    Two are equal when of the same class with the same declared settings (the
    attributes named in ``hyperparameters``; none: any two of a class are equal).
    """

    def settings(self):
        """``{setting: value}`` of the settings its class declares in ``hyperparameters``."""
        return {k: getattr(self, k, None) for k in declared(type(self))}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.settings() == other.settings()

    def __hash__(self):
        return hash(type(self))


def resolve(value, base, registry, family, aliases=None):
    """An instance of ``base`` from an instance, a subclass or a registered name.

    ``aliases`` maps further lower-case names (such as class names) to classes.
    A name or class is made with its declared settings' defaults
    (:meth:`Registry.make`, when ``registry`` is one).
    """
    if isinstance(value, base):
        return value
    if isinstance(value, type) and issubclass(value, base):
        return value(**{k: d for k, (_, d) in declared(value).items() if d is not None})
    key = str(value).lower()
    if aliases and key in aliases:
        return resolve(aliases[key], base, registry, family)
    if isinstance(registry, Registry):
        return registry.make(value, {})
    return lookup(registry, value, family)()


def declared(entry):
    """``{setting: (constraint, default)}`` an entry declares (none: ``{}``), each constraint
    as ``(kind, low, high, closed)`` (:func:`as_constraint`)."""
    return {k: (as_constraint(c), d)
            for k, (c, d) in (getattr(entry, "hyperparameters", None) or {}).items()}


def _where(entry):
    return f"{getattr(entry, '__module__', '?')}.{getattr(entry, '__qualname__', entry)!s}"
