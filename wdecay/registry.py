"""Registries: each family (regularizers, optimizers, initializers, costs) maps names to classes.

A class joins its family's registry by declaring its own ``name`` (through the
base class's ``__init_subclass__``), and declares its settings in
``hyperparameters``: ``{setting: (constraint, default)}``, ``default`` None
when the setting has none (it must be given). The command line, the sweep
grid, ``wdecay experiment`` and its summary read names, constraints and
defaults from here, so a new class reaches all of them without an edit
elsewhere (``tests/test_registry.py`` registers an elastic net and an
optimizer of its own and runs them through ``wdecay experiment`` and a sweep).
A subclass that keeps a name but should not be chosen by it opts out with
``class MyL2(L2, register=False)``.

A constraint is ``(kind, low, inclusive)``: an ``"integer"`` or ``"real"``
above ``low`` (``>=`` when inclusive), checked by :func:`check_value`.

Examples
--------
>>> check_value("lmbda", 5.0, real(0))
5.0
>>> check_value("eta", 0.0, real(0, inclusive=False))
Traceback (most recent call last):
...
ValueError: `eta` must be > 0, got 0.0
"""

from __future__ import annotations

import numbers

from ._validation import check_scalar, lookup

INTEGER, REAL = "integer", "real"


def real(low, inclusive=True):
    """The constraint "a finite real number >= low" (``> low`` unless ``inclusive``)."""
    return (REAL, low, inclusive)


def integer(low):
    """The constraint "an integer >= low"."""
    return (INTEGER, low, True)


def check_value(name, value, constraint, label=None):
    """Return ``value`` if it meets ``constraint``; else raise naming ``label`` (default ``name``)."""
    kind, low, inclusive = constraint
    check_scalar(value, label or name, kind=numbers.Integral if kind == INTEGER else numbers.Real,
                 low=low, inclusive=inclusive)
    return value


def parse(constraint):
    """The command-line type of a constraint's values: ``int`` or ``float``."""
    return int if constraint[0] == INTEGER else float


#: Every family's registry: a setting's constraint is one across all of them.
REGISTRIES = []


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
        if hyperparameters is not None:
            entry.hyperparameters = dict(hyperparameters)
        if not isinstance(name, str) or not name or name != name.lower():
            raise ValueError(f"a {self.family} name must be a non-empty lower-case string, "
                             f"got {name!r}")
        old = self.get(name)
        if old is not None and _where(old) != _where(entry):
            raise ValueError(f"{self.family} {name!r} is taken by {_where(old)}; "
                             f"give {_where(entry)} another name")
        for key, (constraint, _) in declared(entry).items():
            for registry in REGISTRIES:
                for other_name, other in registry.items():
                    theirs = declared(other).get(key)
                    if (registry is not self or other_name != name) and theirs is not None \
                            and theirs[0] != constraint:
                        raise ValueError(f"{_where(entry)} declares setting {key!r} as "
                                         f"{constraint}, but {registry.family} {other_name!r} "
                                         f"as {theirs[0]}: one setting, one constraint")
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


def declared(entry):
    """``{setting: (constraint, default)}`` an entry declares (none: ``{}``)."""
    return dict(getattr(entry, "hyperparameters", None) or {})


def _where(entry):
    return f"{getattr(entry, '__module__', '?')}.{getattr(entry, '__qualname__', entry)!s}"
