"""Strict JSON text: NaN and infinities become ``null``, numpy scalars become Python numbers.

Python's ``json`` writes bare ``NaN`` and ``Infinity``, which strict parsers
(JavaScript's ``JSON.parse``, ``jq``, most other languages) reject. Every JSON
file and ``--format json`` output of wdecay goes through :func:`dumps`.

Examples
--------
>>> dumps({"a": float("nan"), "b": [1.5, float("inf")]})
'{"a": null, "b": [1.5, null]}'
"""

from __future__ import annotations

import json
import math

import numpy as np


def strict(value):
    """A copy of ``value`` with non-finite floats as None and numpy values as Python ones."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value, **kwargs):
    """``json.dumps`` of :func:`strict` ``(value)``, refusing anything left non-finite."""
    return json.dumps(strict(value), allow_nan=False, **kwargs)
