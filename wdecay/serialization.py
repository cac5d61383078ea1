"""Save and load networks as network2-compatible JSON or as ``.npz``.

The JSON format is ``network2.py``'s: ``sizes``, ``weights`` as nested lists of
shape (out, in), ``biases`` as (out, 1) nested lists and ``cost`` as a class
name. wdecay adds ``activation`` and ``initializer`` keys, which network2
ignores, so each library reads the other's files. A cost or initializer whose
class declares settings (``hyperparameters``, :mod:`wdecay.registry`) has them
stored as ``cost_settings`` or ``initializer_settings``; loading checks them
against the declared constraints and refuses a file that lacks one, or names
one the class does not declare, rather than make the class with its defaults.
Writes are atomic.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from ._files import UnsafeFile, atomic_write, open_regular, read_regular
from .costs import COSTS, get_cost
from .initializers import INITIALIZERS
from .network import Network
from .registry import check_value, declared

_CLASS_NAMES = {"quadratic": "QuadraticCost", "cross-entropy": "CrossEntropyCost",
                "log-likelihood": "LogLikelihoodCost"}


SUFFIXES = (".json", ".npz")
MAX_DEFLATE_RATIO = 1100  # deflate cannot compress more than about 1032:1
MAX_MODEL_BYTES = 1 << 30  # a model or checkpoint file: 1 GiB
MAX_META_BYTES = 1 << 20  # the JSON text in an .npz's meta.npy: 1 MiB


def save(network, path, *, settings=None, state=None):
    """Save ``network`` to ``path``; the format follows the suffix, ``.json`` or ``.npz``.

    Any other suffix (``m.pkl``, ``m``) raises ``ValueError`` rather than
    writing JSON under a misleading name. wdecay never writes pickles.
    ``settings`` (a JSON-able dict, optional) is stored beside the network:
    checkpoints keep their run's settings there, which a resume checks.
    ``state`` (``.npz`` only, optional) is a training state to store beside
    them: nested dicts and lists of numbers, strings and float arrays (an
    optimizer's and the monitors' ``state_dict()``); :func:`load_checkpoint`
    reads it back.

    Examples
    --------
    >>> import tempfile, os
    >>> net = Network([3, 2], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> save(net, path); load(path).sizes
    [3, 2]
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"`path` must end in .json (network2's format) or .npz, got {path!r}")
    if suffix == ".npz":
        buf = io.BytesIO()
        arrays = {f"weights_{i}": w for i, w in enumerate(network.weights)}
        arrays.update({f"biases_{i}": b for i, b in enumerate(network.biases)})
        meta = _meta(network, settings)
        if state is not None:
            state_arrays = []
            meta["state"] = _flatten(state, state_arrays)
            arrays.update({f"state_{k}": a for k, a in enumerate(state_arrays)})
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write(path, buf.getvalue())
    else:
        if state is not None:
            raise ValueError("a training `state` is stored in .npz files only")
        data = _meta(network, settings)
        data["weights"] = [w.tolist() for w in network.weights]
        data["biases"] = [b.reshape(-1, 1).tolist() for b in network.biases]
        atomic_write(path, json.dumps(data).encode())


def _flatten(value, arrays):
    """``value`` as JSON, each array replaced by ``{"__array__": k}``, ``arrays[k]`` the array."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise TypeError(f"a training state holds float arrays only, got {value.dtype}")
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, dict):
        if "__array__" in value:
            raise ValueError("a training state's dicts may not use the key '__array__'")
        return {"__dict__": [[_flatten(k, arrays), _flatten(v, arrays)]
                             for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_flatten(v, arrays) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"a training state holds numbers, strings, lists, dicts and float arrays, "
                    f"got {type(value).__name__}")


def _unflatten(value, arrays, used, path, depth=0):
    if depth > 64:
        raise ValueError(f"{path!r}: its training state is nested too deeply")
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            k = value["__array__"]
            if type(k) is not int or k not in arrays or k in used:
                raise ValueError(f"{path!r}: its training state refers to array {k!r}, which "
                                 "the file lacks or uses twice")
            used.add(k)
            return arrays[k]
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
            out = {}
            for item in value["__dict__"]:
                if not (isinstance(item, list) and len(item) == 2):
                    raise ValueError(f"{path!r}: its training state has a malformed dict")
                key = _unflatten(item[0], arrays, used, path, depth + 1)
                if not isinstance(key, (int, str)):
                    raise ValueError(f"{path!r}: its training state has a key of type "
                                     f"{type(key).__name__}")
                out[key] = _unflatten(item[1], arrays, used, path, depth + 1)
            return out
        raise ValueError(f"{path!r}: its training state has an unknown object {sorted(value)}")
    if isinstance(value, list):
        return [_unflatten(v, arrays, used, path, depth + 1) for v in value]
    return value


def load_checkpoint(path, sizes=None):
    """``(network, settings, state)`` of an ``.npz`` written by :func:`save` with a ``state``.

    The state's arrays are checked like the weights (declared shape, float
    dtype, size against the compressed bytes, together at most
    :data:`MAX_STATE_FACTOR` times the network's parameters) before they are
    read; ``state`` is None when the file stores none. With ``sizes`` (the
    run's), a file declaring other sizes is refused before its arrays are read.
    """
    path = os.fspath(path)
    if not path.lower().endswith(".npz"):
        raise ValueError(f"`path` must be a checkpoint .npz, got {path!r}")
    net, settings, meta, arrays = _load(path, with_state=True, expected=sizes)
    if "state" not in meta:
        return net, settings, None
    used = set()
    try:
        state = _unflatten(meta["state"], arrays, used, path)
    except RecursionError:
        raise ValueError(f"{path!r}: its training state is nested too deeply") from None
    if used != set(arrays):
        raise ValueError(f"{path!r}: its training state leaves arrays {sorted(set(arrays) - used)}"
                         " unused")
    return net, settings, state


#: A checkpoint's training-state arrays may hold at most this many times the network's
#: parameters (Adam keeps three buffers per parameter; the decay curve keeps the initial weights).
MAX_STATE_FACTOR = 8


def _meta(network, settings=None):
    cost = type(network.cost).__name__  # a registered one's class name (network2's convention)
    if COSTS.get(network.cost.name) is type(network.cost):  # not a subclass that inherits a name
        cost = _CLASS_NAMES.get(network.cost.name, cost)
    meta = {"sizes": network.sizes, "cost": cost,
            "activation": network.activation.name, "initializer": network.initializer.name,
            "dtype": str(network.weights[0].dtype), "format": "wdecay-1"}
    for key, obj in (("cost_settings", network.cost),
                     ("initializer_settings", network.initializer)):
        own = obj.settings()  # only a class that declares settings adds the key
        if own:
            meta[key] = {k: v.item() if isinstance(v, np.generic) else v for k, v in own.items()}
    if settings is not None:
        meta["settings"] = dict(settings)
    return meta


def load(path):
    """Load a network saved by :func:`save` or by ``network2.Network.save``.

    A ``.npz`` file is read as npz (never with ``allow_pickle``), anything else
    as network2's JSON. Model files never import code.

    The declared ``sizes`` are checked against the arrays actually in the file
    before anything is allocated: a small file that declares huge layers is
    refused with ``ValueError``, not by running out of memory.

    Only a regular file of at most ``MAX_MODEL_BYTES`` is read (never a FIFO or
    a device such as ``/dev/zero``, also not through a link), and every member
    of an ``.npz`` has its declared size checked before it is read.

    Raises ``ValueError`` naming the file for a corrupt, truncated or
    inconsistent file (shapes that do not match ``sizes``, an unknown cost).
    """
    return load_with_settings(path)[0]


def load_with_settings(path):
    """``(network, settings)``: :func:`load`, and the settings :func:`save` stored (or None)."""
    net, settings, _, _ = _load(os.fspath(path))
    return net, settings


def _load(path, with_state=False, expected=None):
    arrays = {}
    try:
        if path.lower().endswith(".npz"):
            meta, weights, biases, arrays = _read_npz(path, with_state, expected)
        else:
            meta = json.loads(read_regular(path, MAX_MODEL_BYTES).decode())
            if not isinstance(meta, dict):
                raise ValueError("the JSON is not an object")
            sizes = declared_sizes(meta, path)
            weights, biases = meta["weights"], meta["biases"]
            check_nested_sizes(weights, biases, sizes, path)
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, EOFError,
            RecursionError) as exc:
        if isinstance(exc, (SizeMismatch, UnsafeFile)):
            raise ValueError(str(exc)) from None
        raise ValueError(f"cannot read a network from {path!r}: the file is corrupt, "
                         f"truncated or not a saved network ({type(exc).__name__}: {exc})") from exc
    except MemoryError:
        raise ValueError(f"{path!r} declares layers too large to load in memory") from None
    settings = meta.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise ValueError(f"{path!r}: its stored `settings` are {type(settings).__name__}, "
                         "not an object")
    try:
        return _build(meta, weights, biases, path), settings, meta, arrays
    except MemoryError:
        raise ValueError(f"{path!r} declares layers too large to load in memory") from None


def _cost_class(name):
    """The cost class a file names, by its registered name or its class name (network2's)."""
    if isinstance(name, str):
        by_class = {cls.__name__.lower(): cls for cls in COSTS.values()}
        found = by_class.get(name.lower()) or COSTS.get(name.lower())
        if found is not None:
            return found
    return type(get_cost(name))  # an unknown name: get_cost says so


def _with_settings(cls, family, stored, plain):
    """``cls`` made with the settings a file stores for it, each checked by its declaration.

    A class that declares none is made by ``plain(cls)`` (and a file storing some for it
    is refused); one that declares some needs them all stored, and no others.
    """
    own = declared(cls)
    if not own:
        if stored:
            raise ValueError(f"it stores {family}_settings {stored!r}, but the {family} "
                             f"{cls.__name__} declares no settings")
        return plain(cls)
    if not isinstance(stored, dict):
        raise ValueError(f"its {family} {cls.__name__} declares the settings {sorted(own)}, "
                         f"but the file stores {family}_settings {stored!r}, not an object of "
                         "them: it was written by an older wdecay, or edited")
    unknown, missing = sorted(set(stored) - set(own)), sorted(set(own) - set(stored))
    if unknown or missing:
        raise ValueError(f"its {family}_settings must give exactly the settings the {family} "
                         f"{cls.__name__} declares, {sorted(own)}; "
                         + (f"unknown: {unknown}" if unknown else f"missing: {missing}"))
    return cls(**{k: check_value(k, stored[k], own[k][0], f"{family}_settings['{k}']")
                  for k in own})


class SizeMismatch(ValueError):
    """A file whose declared sizes disagree with its arrays (message already complete)."""


#: The most parameters (weights and biases) a model file may declare: 400 MB in float64,
#: thousands of times the book's [784, 30, 10] (23,860). A compressed file of zeros could
#: otherwise declare a thousand times its size.
MAX_PARAMETERS = 50_000_000


def declared_sizes(meta, path, expected=None):
    """``meta["sizes"]`` if it lists at least 2 positive integers, else :class:`SizeMismatch`.

    The total of parameters they declare must be at most :data:`MAX_PARAMETERS`;
    with ``expected`` (a run's sizes), they must be those, before anything is read.
    """
    sizes = meta["sizes"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes)):
        raise SizeMismatch(f"{path!r}: `sizes` must list at least 2 positive integers, got {sizes!r}")
    if expected is not None and list(expected) != sizes:
        raise SizeMismatch(f"{path!r} holds a network with sizes {sizes}, the run's settings say "
                           f"{list(expected)}: they are not from the same run")
    total = sum(a * b + a for a, b in zip(sizes[1:], sizes[:-1]))
    if total > MAX_PARAMETERS:
        raise SizeMismatch(f"{path!r} declares sizes {sizes}, {total:,} parameters; wdecay loads "
                           f"at most {MAX_PARAMETERS:,}")
    return sizes


def check_nested_sizes(weights, biases, sizes, path):
    """Compare nested-list lengths with ``sizes`` before any array is built."""
    n = len(sizes) - 1
    if not isinstance(weights, list) or not isinstance(biases, list) \
            or len(weights) != n or len(biases) != n:
        raise SizeMismatch(f"{path!r} is mismatched: sizes {sizes} need {n} weight and bias "
                        f"arrays, found {_length(weights)} and {_length(biases)}")
    for i, (w, b) in enumerate(zip(weights, biases)):
        out, inp = sizes[i + 1], sizes[i]
        if (not isinstance(w, list) or len(w) != out
                or any(not isinstance(row, list) or len(row) != inp for row in w)
                or not isinstance(b, list) or len(b) != out):
            raise SizeMismatch(
                f"{path!r} is mismatched: layer {i + 1} needs weights {(out, inp)} and {out} "
                f"biases for sizes {sizes}, found {_shape(w)} and {_shape(b)}")


def _length(x):
    return len(x) if isinstance(x, list) else type(x).__name__


def _shape(x):
    shape = []
    while isinstance(x, list):
        shape.append(len(x))
        x = x[0] if x else None
    return tuple(shape)


def _read_npz(path, with_state=False, expected=None):
    """Meta, weights, biases and state arrays of a saved ``.npz``.

    Every array's header is checked before its data are read; the state's
    arrays (``state_<k>``) only ``with_state``.
    """
    with open_regular(path, MAX_MODEL_BYTES) as raw, zipfile.ZipFile(raw) as zf:
        meta = _read_meta(zf, path)
        if not isinstance(meta, dict):
            raise ValueError("meta is not a JSON object")
        sizes = declared_sizes(meta, path, expected)
        n = len(sizes) - 1
        expected = {}
        for i in range(n):
            expected[f"weights_{i}"] = (sizes[i + 1], sizes[i])
            expected[f"biases_{i}"] = (sizes[i + 1],)
        for name, shape in expected.items():
            info = zf.getinfo(name + ".npy") if name + ".npy" in zf.namelist() else None
            if info is None:
                raise SizeMismatch(f"{path!r} is mismatched: sizes {sizes} need {name}, "
                                "which the file lacks")
            with zf.open(info) as fh:
                found, _, dtype = _read_npz_header(fh)
            if tuple(found) != shape:
                raise SizeMismatch(f"{path!r} is mismatched: sizes {sizes} need {name} of shape "
                                f"{shape}, found {tuple(found)}")
            if dtype.kind != "f":
                kind = _KIND_NAMES.get(dtype.kind, "not numbers")
                raise SizeMismatch(f"{path!r}: {name} holds {dtype} values ({kind}); a "
                                   "network's weights and biases are floating point")
            need = int(np.prod(shape)) * dtype.itemsize
            if info.file_size < need \
                    or need > MAX_DEFLATE_RATIO * max(info.compress_size, 1) + 4096:
                raise SizeMismatch(f"{path!r}: {name} declares {need} bytes of {dtype}, but the "
                                f"file holds {info.compress_size} compressed bytes for it")
        weights, biases = [], []
        for i in range(n):
            for name, out in ((f"weights_{i}", weights), (f"biases_{i}", biases)):
                with zf.open(name + ".npy") as fh:
                    out.append(np.lib.format.read_array(fh, allow_pickle=False))
        arrays = _read_state_arrays(zf, path, sizes) if with_state else {}
    return meta, weights, biases, arrays


def _read_state_arrays(zf, path, sizes):
    """The ``state_<k>`` members, each header checked and the total bounded before reading."""
    budget = MAX_STATE_FACTOR * 8 * sum(a * b + a for a, b in zip(sizes[1:], sizes[:-1]))
    found, total = {}, 0
    for info in zf.infolist():
        name = info.filename
        if not (name.startswith("state_") and name.endswith(".npy")):
            continue
        index = name[len("state_"):-len(".npy")]
        if not index.isdigit() or len(index) > 9:
            raise SizeMismatch(f"{path!r}: unexpected member {name!r}")
        with zf.open(info) as fh:
            shape, _, dtype = _read_npz_header(fh)
        if dtype.kind != "f":
            kind = _KIND_NAMES.get(dtype.kind, "not numbers")
            raise SizeMismatch(f"{path!r}: {name} holds {dtype} values ({kind}); a training "
                               "state's arrays are floating point")
        need = int(np.prod(shape, dtype=object)) * dtype.itemsize
        total += need
        if total > budget or info.file_size < need \
                or need > MAX_DEFLATE_RATIO * max(info.compress_size, 1) + 4096:
            raise SizeMismatch(f"{path!r}: the training state's arrays declare {total} bytes, "
                               f"more than the file holds or {MAX_STATE_FACTOR} times the "
                               "network's parameters")
        found[int(index)] = info
    arrays = {}
    for k, info in found.items():
        with zf.open(info) as fh:
            arrays[k] = np.lib.format.read_array(fh, allow_pickle=False)
    return arrays


_KIND_NAMES = {"c": "complex numbers", "U": "text", "S": "bytes", "i": "integers",
               "u": "unsigned integers", "b": "booleans", "O": "Python objects",
               "V": "raw records", "M": "dates", "m": "time spans"}


def _read_npz_header(fh):
    version = np.lib.format.read_magic(fh)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    return read_header(fh)


def _read_meta(zf, path):
    """The JSON object in ``meta.npy``, its declared size checked before it is read."""
    info = zf.getinfo("meta.npy")
    if info.file_size > MAX_META_BYTES + 4096 \
            or info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1) + 4096:
        raise SizeMismatch(f"{path!r}: meta.npy declares {info.file_size} bytes "
                           f"({info.compress_size} compressed); a model's meta is at most "
                           f"{MAX_META_BYTES} bytes")
    with zf.open(info) as fh:
        shape, _, dtype = _read_npz_header(fh)
        if tuple(shape) != () or dtype.kind != "U":
            raise SizeMismatch(f"{path!r}: meta.npy must hold one string, found {dtype} of "
                               f"shape {tuple(shape)}")
        if dtype.itemsize > MAX_META_BYTES:
            raise SizeMismatch(f"{path!r}: meta.npy declares a {dtype.itemsize}-byte string; a "
                               f"model's meta is at most {MAX_META_BYTES} bytes")
    with zf.open(info) as fh:
        return json.loads(str(np.lib.format.read_array(fh, allow_pickle=False)))


def _build(meta, weights, biases, path):
    try:
        sizes = [int(s) for s in meta["sizes"]]
        cost = _with_settings(_cost_class(meta.get("cost", "CrossEntropyCost")), "cost",
                              meta.get("cost_settings"), get_cost)
        initializer = meta.get("initializer", "default")
        initializer = _with_settings(INITIALIZERS.lookup(initializer), "initializer",
                                     meta.get("initializer_settings"), lambda c: initializer)
        net = Network(sizes, cost=cost, activation=meta.get("activation", "sigmoid"),
                      initializer=initializer, seed=0, dtype=meta.get("dtype", "float64"))
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path!r} describes an invalid network: {exc}") from exc
    n = len(sizes) - 1
    if len(weights) != n or len(biases) != n:
        raise ValueError(f"{path!r} is mismatched: sizes {sizes} need {n} weight and bias "
                         f"arrays, found {len(weights)} and {len(biases)}")
    for i, (w, b) in enumerate(zip(weights, biases)):
        try:
            w = np.asarray(w, dtype=net.dtype)
            b = np.asarray(b, dtype=net.dtype).reshape(-1)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path!r}: layer {i + 1}'s arrays are ragged or not numeric") from exc
        if w.shape != (sizes[i + 1], sizes[i]) or b.shape != (sizes[i + 1],):
            raise ValueError(
                f"{path!r} is mismatched: layer {i + 1} needs weights {(sizes[i + 1], sizes[i])} "
                f"and {sizes[i + 1]} biases for sizes {sizes}, found {w.shape} and {b.shape}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"{path!r}: layer {i + 1} contains NaN or inf")
        net.weights[i], net.biases[i] = w, b
    return net
