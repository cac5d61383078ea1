"""The training history: one record (a flat dict of named values) per epoch.

Epoch 0 holds the values at the initial weights. ``history["layer1/rms"]``
returns a numpy array over epochs. Given a ``path``, a history appends each
epoch to a CSV file as soon as it is recorded, so a run that is killed keeps
the epochs it finished; ``mode`` says what to do with a file that exists.

Values are ints, floats, bools or strings (numpy scalars become Python ones).
The CSV round trip is exact for all four types:

- an int is written as its digits and a float with ``repr`` (which round-trips
  exactly, ``nan``, ``inf`` and ``-inf`` included); a bool as ``True`` or ``False``;
- a field reads back as an int only if it is an int's canonical text (``"7"``,
  never ``"007"``), as a float only if it is a float's ``repr`` (``"100000.0"``,
  never ``"1e5"``), as a bool only if it is ``True`` or ``False``;
- a string that would read back as something else (``"7"``, ``"0.5"``,
  ``"nan"``, ``"True"``, the empty string; but not ``"007"`` or ``"1e5"``) is
  written with a leading apostrophe, as spreadsheets do, and so is a string
  that starts with one; reading removes one apostrophe;
- an empty field is a value the record does not have.

Other types (lists, arrays, None) are refused with a ``TypeError`` naming the key.

Files are read only if they are regular files of at most ``MAX_HISTORY_BYTES``
(never a FIFO or a device), as UTF-8 text; a header that names a column twice,
or an ``epoch`` that is not a whole number, is refused naming the file and
line. A history that streams to ``path`` refuses a ``path`` that is a symbolic
link, so its rows never end up split between the link's target and a file
that replaced the link.
JSON (:meth:`History.to_json`) is strict: NaN and infinities are written as
``null`` and ``null`` reads back as NaN, so infinities come back as NaN there;
use the CSV file to keep them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import warnings

import numpy as np

from ._files import atomic_write, read_regular
from ._json import dumps

MODES = ("new", "append", "resume", "overwrite")
MAX_HISTORY_BYTES = 1 << 30  # 1 GiB: some ten million epochs of the diagnostics' 40 columns


def _format(value):
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if value == "" or value.startswith("'") or _parse(value) != value:
        return "'" + value  # would not read back as this string
    return value


def _parse(text):
    if text.startswith("'"):
        return text[1:]
    if text in ("True", "False"):
        return text == "True"
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        if str(number) == text:
            return number
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return number if repr(number) == text else text


def _plain(key, value):
    """``value`` as a Python int, float, bool or str; refuse other types."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"history values must be numbers, bools or strings; {key!r} is "
                    f"{type(value).__name__} ({value!r:.60})")


class History:
    """Per-epoch records of a training run.

    Parameters
    ----------
    records : list of dict, optional
        Records to start from.
    path : str or path-like, optional
        A CSV file that every new record is appended to as soon as it is added.
    mode : {"new", "append", "resume", "overwrite"}
        What to do when ``path`` exists and is not empty:

        - ``"new"`` (default) refuses it with ``FileExistsError``;
        - ``"append"`` keeps the file's rows, then ``records``, and appends after them;
        - ``"resume"`` continues a killed or interrupted run: the file must
          exist, its rows become the records (``records`` must not be given);
          check it against the network with :meth:`check_resumable`;
        - ``"overwrite"`` replaces it (with ``records``, if any).

        A last line without its line end is a write cut short when the file's
        other lines end in CR LF (as wdecay writes them): it is dropped with a
        warning, since a number may have been cut too. In a file written by
        another tool (LF line ends) it is kept if it has all its fields.

    Examples
    --------
    >>> h = History()
    >>> h.append({"epoch": 0, "layer1/rms": 1.0}); h.append({"epoch": 1, "layer1/rms": 0.5})
    >>> h["layer1/rms"]
    array([1. , 0.5])
    >>> h.keys()
    ['epoch', 'layer1/rms']
    """

    def __init__(self, records=None, path=None, mode="new"):
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
        if isinstance(records, (dict, str, bytes)):
            raise TypeError(f"`records` must be a list of dicts (one per epoch), got "
                            f"{type(records).__name__}")
        self.records = [_record(r, i) for i, r in enumerate(records or [])]
        self.path = None if path is None else os.fspath(path)
        self.mode = mode
        self._columns = None
        if self.path is not None:
            self._start_file(records is not None)

    # -- access ------------------------------------------------------------
    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def keys(self):
        """All keys in order of first appearance: ``history.keys()``."""
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
            raise KeyError(f"no key {key!r} in the history; keys are {self.keys()}. fit() "
                           "without monitors records only 'epoch' (and 'eval/...' with "
                           "evaluation_data): pass monitors=wdecay.monitors.diagnostics() to "
                           "record each layer's norms, R and kappa")
        values = [r.get(key, math.nan) for r in self.records]
        return np.asarray(values)

    def last(self, key, default=math.nan):
        """The most recent value of ``key``."""
        for record in reversed(self.records):
            if key in record:
                return record[key]
        return default

    def __repr__(self):
        return f"History({len(self.records)} records, keys={self.keys()})"

    def __eq__(self, other):
        return isinstance(other, History) and _records_equal(self.records, other.records)

    # -- recording ---------------------------------------------------------
    def append(self, record):
        """Add one epoch's record (and append it to ``path`` if set)."""
        record = _record(record, len(self.records))
        self.records.append(record)
        if self.path is not None:
            self._write_record(record)

    def truncate(self, last_epoch):
        """Drop the records after epoch ``last_epoch`` (rewriting ``path``); return how many."""
        keep = [r for r in self.records if _epoch(r) <= last_epoch]
        dropped = len(self.records) - len(keep)
        if dropped:
            self.records = keep
            if self.path is not None:
                self._rewrite()
        return dropped

    def check_resumable(self, network, epoch=None, regularizer=None, n=None):
        """Raise ``ValueError`` unless these records and ``network`` belong to one run.

        The records up to ``epoch`` (the checkpoint's, if given; rows after it are
        ignored, for :meth:`truncate` to drop once this check passes) must end at
        that epoch, name no layer the network lacks, and hold ``layer{l}/rms`` for
        every layer at that epoch, equal to the network's RMS to 1e-12 relative
        (a history without them cannot be checked, and is refused). With a
        ``regularizer`` and the training-set size ``n``, a recorded
        ``total/penalty`` must be the regularizer's penalty of the weights.
        """
        where = self.path or "the history"
        records = [r for r in self.records if epoch is None or _epoch(r) <= epoch]
        if not records:
            raise ValueError(f"{where} has no records to resume from")
        last = records[-1].get("epoch")
        if epoch is not None and last != epoch:
            raise ValueError(f"{where} has no record of epoch {epoch}, the checkpoint's (its "
                             f"last before it is {last}): they are not from the same run")
        layers = len(network.weights)
        for key in {k for r in records for k in r}:
            if key.startswith("layer") and "/" in key:
                index = key[5:key.index("/")]
                if index.isdigit() and not 1 <= int(index) <= layers:
                    raise ValueError(f"{where} records {key!r}, but the network has "
                                     f"{layers} layers: they are not from the same run")
        record = records[-1]
        for l, w in enumerate(network.weights, 1):
            recorded = record.get(f"layer{l}/rms")
            if not (isinstance(recorded, float) and math.isfinite(recorded)):
                raise ValueError(
                    f"{where} records no layer{l}/rms at epoch {last}, so it cannot be checked "
                    "against the network; resume only histories trained with WeightNorms "
                    "(e.g. monitors=wdecay.monitors.diagnostics())")
            rms = math.sqrt(float(np.vdot(w, w)) / w.size)
            if not math.isclose(rms, recorded, rel_tol=1e-12, abs_tol=1e-300):
                raise ValueError(
                    f"{where} records layer {l} RMS {recorded!r} at epoch {last}, but "
                    f"the network's is {rms!r}: they are not from the same run")
        recorded = record.get("total/penalty")
        if regularizer is not None and isinstance(recorded, float) and math.isfinite(recorded):
            penalty = float(regularizer.penalty(network.weights, n))
            if not math.isclose(recorded, penalty, rel_tol=1e-9, abs_tol=1e-300):
                raise ValueError(
                    f"{where} records the penalty {recorded!r} at epoch {last}, but "
                    f"{regularizer!r} with n = {n} gives {penalty!r} for the network's "
                    "weights: they are not from the same run")

    def _start_file(self, records_given):
        _check_history_path(self.path)
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if self.mode == "new" and exists:
            raise FileExistsError(
                f"{self.path} exists; History(path=..., mode='append') continues it, "
                "mode='overwrite' replaces it")
        if self.mode == "resume":
            if not exists:
                raise FileNotFoundError(f"no history to resume at {self.path}")
            if records_given:
                raise ValueError("History(mode='resume') takes its records from the file; "
                                 "do not pass `records`")
        if exists and self.mode in ("append", "resume"):
            header, stored = _read_csv(self.path, repair=True)
            if self.mode == "resume":
                _check_resumed_file(self.path, header, stored)
            self.records = stored + self.records
            self._columns = header or None
            if len(self.records) > len(stored):
                self._rewrite()
        elif self.records or (exists and self.mode == "overwrite"):
            self._rewrite()

    def _write_record(self, record):
        if self._columns is None or any(k not in self._columns for k in record):
            self._rewrite()
            return
        try:  # O_NOFOLLOW: a link put in its place later is not written through either
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise type(exc)(exc.errno, f"{exc.strerror} (appending to the history; is it "
                            "still a regular file?)", self.path) from None
        with os.fdopen(fd, "a", newline="") as fh:
            csv.writer(fh).writerow([_format(record[k]) if k in record else ""
                                     for k in self._columns])
            fh.flush()
            os.fsync(fh.fileno())

    def _rewrite(self):
        _check_history_path(self.path)  # also if it became a link after the history began
        self._columns = self.keys()
        self.to_csv(self.path)

    # -- export ------------------------------------------------------------
    def to_csv(self, path):
        """Write all records to a CSV file (atomically); missing values are empty."""
        columns = self.keys()
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for record in self.records:
            writer.writerow([_format(record[k]) if k in record else "" for k in columns])
        atomic_write(path, buf.getvalue().encode())

    @classmethod
    def read_resumable(cls, path):
        """The history at ``path`` as ``History(path, mode="resume")`` would see it, read only.

        The same checks (a regular file, not a link; an ``epoch`` column numbering
        0, 1, 2, ...), but the file is not repaired: a last row cut short is
        left out of the records and stays in the file. For :meth:`check_resumable`
        before anything is written.
        """
        path = os.fspath(path)
        _check_history_path(path)
        if not (os.path.exists(path) and os.path.getsize(path) > 0):
            raise FileNotFoundError(f"no history to resume at {path}")
        header, records = _read_csv(path, repair="read")
        _check_resumed_file(path, header, records)
        history = cls(records)
        history.path = path
        return history

    @classmethod
    def from_csv(cls, path):
        """Read a history written by :meth:`to_csv` or streamed to ``path``."""
        return cls(_read_csv(path)[1])

    def to_json(self, path):
        """Write all records to a strict JSON file (atomically); NaN and inf become null."""
        atomic_write(path, dumps({"records": self.records}, indent=1).encode())

    @classmethod
    def from_json(cls, path):
        """Read a history written by :meth:`to_json`; ``null`` reads back as NaN."""
        path = os.fspath(path)
        try:
            data = json.loads(_text(read_regular(path, MAX_HISTORY_BYTES), path))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{path} is not a valid history JSON file: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise ValueError(f"{path} has no 'records' list; not a wdecay history")
        records = []
        for i, r in enumerate(data["records"]):
            bad = (f"is {type(r).__name__}, not an object of values" if not isinstance(r, dict)
                   else next((f"holds {k!r}: {type(v).__name__}, not a number, bool, string "
                              "or null" for k, v in r.items()
                              if v is not None and not isinstance(v, (int, float, str))), None))
            if bad:
                raise ValueError(f"{path}: record {i} {bad}; not a wdecay history")
            records.append({k: math.nan if v is None else v for k, v in r.items()})
        try:
            return cls(records)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None


def _record(record, index):
    if not isinstance(record, dict):
        raise TypeError(f"a history record must be a dict of values, record {index} is "
                        f"{type(record).__name__}")
    record = {k: _plain(k, v) for k, v in record.items()}
    epoch = record.get("epoch")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
        raise ValueError(f"record {index} has epoch {epoch!r}; an epoch is a whole number")
    return record


def _epoch(record):
    return record.get("epoch", -math.inf)


def _text(data, path):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a text file (byte {exc.start} is not UTF-8); a "
                         "history is a UTF-8 CSV or JSON file") from None
    if "\x00" in text:
        raise ValueError(f"{path} is not a text file (character {text.index(chr(0))} is NUL); "
                         "a history is a UTF-8 CSV or JSON file")
    return text


def _check_history_path(path):
    """Refuse a history path that is a symbolic link or exists and is not a regular file."""
    if os.path.islink(path):
        raise ValueError(f"{path} is a symbolic link (to {os.path.realpath(path)}); a history "
                         "file must be a regular file: pass the file itself")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise ValueError(f"{path} exists and is not a regular file; a history must be one")
    if os.path.isfile(path) and os.stat(path).st_nlink > 1:
        raise ValueError(f"{path} has {os.stat(path).st_nlink} hard links: another name writes "
                         "the same file (another run's history?); a history must be a file of "
                         "its own: copy it")


def _read_csv(path, repair=False):
    """``(header, records)`` of a CSV history; ``repair`` fixes a last line cut short.

    ``repair="read"`` leaves such a line out of the records without touching the file.
    """
    path = os.fspath(path)
    text = _text(read_regular(path, MAX_HISTORY_BYTES), path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValueError(f"{path} is not a CSV history: {exc}") from None
    if not rows:
        return [], []
    header, body = rows[0], rows[1:]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise ValueError(f"{path}: the header names column {twice[0]!r} twice; each column "
                         "must have one name")
    torn = bool(body) and not text.endswith("\n")
    ours = "\r\n" in text  # wdecay ends every row with \r\n: a row without it is cut
    if torn and (ours or len(body[-1]) != len(header)):
        if repair == "read":
            repair = False
        elif not repair:
            raise ValueError(f"{path}: the last row was cut short ({len(body[-1])} of "
                             f"{len(header)} fields); History(path, mode='resume') drops it")
        else:
            warnings.warn(f"{path}: dropped its last row, which was cut short "
                          f"({len(body[-1])} of {len(header)} fields)", stacklevel=4)
        body = body[:-1]
        torn = False
    records = []
    for i, row in enumerate(body, 2):
        if len(row) != len(header):
            raise ValueError(
                f"{path}: line {i} has {len(row)} fields, the header {len(header)}")
        record = {k: _parse(v) for k, v in zip(header, row) if v != ""}
        epoch = record.get("epoch")
        if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
            raise ValueError(f"{path}: line {i} has epoch {row[header.index('epoch')]!r}; an "
                             "epoch is a whole number")
        records.append(record)
    if repair is True and torn:  # a complete last row without its newline: add it
        with open(path, "a", newline="") as fh:
            fh.write("\r\n")
    elif repair is True and body != rows[1:]:
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *body])
        atomic_write(path, buf.getvalue().encode())
    return header, records


def _check_resumed_file(path, header, records):
    """A file to resume must be a history of epochs: an ``epoch`` column, rising by 1 from 0."""
    if "epoch" not in header:
        raise ValueError(f"{path} has no 'epoch' column, so it is not a training history; "
                         "History(mode='resume') continues only a history that fit wrote")
    for i, record in enumerate(records):
        if record.get("epoch") != i:
            found = record.get("epoch", "no epoch")
            raise ValueError(f"{path}: line {i + 2} has epoch {found!r} where epoch {i} "
                             "belongs; a history to resume numbers its epochs 0, 1, 2, ...")


def _records_equal(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if ra.keys() != rb.keys():
            return False
        for k in ra:
            x, y = ra[k], rb[k]
            both_nan = isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
            if not both_nan and (x != y or type(x) is not type(y)):
                return False
    return True
