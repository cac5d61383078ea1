"""The training history: one record (a flat dict of named numbers) per epoch.

Epoch 0 holds the values at the initial weights. ``history["layer1/rms"]``
returns a numpy array over epochs. Histories export to CSV and JSON without
loss (floats are written with ``repr``, which round-trips exactly), and given a
``path`` a history appends each epoch to a CSV file as soon as it is recorded,
so a run that is killed keeps the epochs it finished.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np

from ._files import atomic_write


def _format(value):
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _parse(text):
    if text == "":
        return math.nan
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


class History:
    """Per-epoch records of a training run.

    Parameters
    ----------
    records : list of dict, optional
        Records to start from.
    path : str or path-like, optional
        A CSV file that every new record is appended to as soon as it is added.

    Examples
    --------
    >>> h = History()
    >>> h.append({"epoch": 0, "layer1/rms": 1.0}); h.append({"epoch": 1, "layer1/rms": 0.5})
    >>> h["layer1/rms"]
    array([1. , 0.5])
    """

    def __init__(self, records=None, path=None):
        self.records = [dict(r) for r in (records or [])]
        self.path = None if path is None else os.fspath(path)
        self._columns = None
        if self.path is not None:
            self._start_file()

    # -- access ------------------------------------------------------------
    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def keys(self):
        """All keys in order of first appearance."""
        seen = {}
        for record in self.records:
            for key in record:
                seen.setdefault(key, None)
        return list(seen)

    def __contains__(self, key):
        return any(key in r for r in self.records)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.records[key]
        if key not in self:
            raise KeyError(f"no key {key!r} in the history; keys are {self.keys}")
        values = [r.get(key, math.nan) for r in self.records]
        return np.asarray(values)

    def last(self, key, default=math.nan):
        """The most recent value of ``key``."""
        for record in reversed(self.records):
            if key in record:
                return record[key]
        return default

    def __repr__(self):
        return f"History({len(self.records)} records, keys={self.keys})"

    def __eq__(self, other):
        return isinstance(other, History) and _records_equal(self.records, other.records)

    # -- recording ---------------------------------------------------------
    def append(self, record):
        """Add one epoch's record (and append it to ``path`` if set)."""
        record = {k: _plain(v) for k, v in record.items()}
        self.records.append(record)
        if self.path is not None:
            self._write_record(record)

    def _start_file(self):
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            with open(self.path, newline="") as fh:
                header = next(csv.reader(fh), None)
            self._columns = header
            if not self.records:
                self.records = History.from_csv(self.path).records
        elif self.records:
            self._rewrite()

    def _write_record(self, record):
        if self._columns is None or any(k not in self._columns for k in record):
            self._rewrite()
            return
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow([_format(record.get(k, "")) for k in self._columns])
            fh.flush()
            os.fsync(fh.fileno())

    def _rewrite(self):
        self._columns = self.keys
        self.to_csv(self.path)

    # -- export ------------------------------------------------------------
    def to_csv(self, path):
        """Write all records to a CSV file (atomically); missing values are empty."""
        columns = self.keys
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for record in self.records:
            writer.writerow([_format(record[k]) if k in record else "" for k in columns])
        atomic_write(path, buf.getvalue().encode())

    @classmethod
    def from_csv(cls, path):
        """Read a history written by :meth:`to_csv`."""
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            return cls()
        header, body = rows[0], rows[1:]
        records = []
        for row in body:
            if len(row) != len(header):
                raise ValueError(
                    f"{os.fspath(path)}: a row has {len(row)} fields, the header {len(header)}")
            records.append({k: _parse(v) for k, v in zip(header, row) if v != ""})
        return cls(records)

    def to_json(self, path):
        """Write all records to a JSON file (atomically)."""
        atomic_write(path, json.dumps({"records": self.records}, indent=1).encode())

    @classmethod
    def from_json(cls, path):
        """Read a history written by :meth:`to_json`."""
        with open(path) as fh:
            try:
                data = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{os.fspath(path)} is not a valid history JSON file: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise ValueError(f"{os.fspath(path)} has no 'records' list; not a wdecay history")
        return cls(data["records"])


def _records_equal(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if ra.keys() != rb.keys():
            return False
        for k in ra:
            x, y = ra[k], rb[k]
            both_nan = isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
            if not both_nan and x != y:
                return False
    return True
