"""Save and load networks as network2-compatible JSON or as ``.npz``.

The JSON format is ``network2.py``'s: ``sizes``, ``weights`` as nested lists of
shape (out, in), ``biases`` as (out, 1) nested lists and ``cost`` as a class
name. wdecay adds ``activation`` and ``initializer`` keys, which network2
ignores, so each library reads the other's files. Writes are atomic.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from ._files import atomic_write
from .costs import get_cost
from .network import Network

_CLASS_NAMES = {"quadratic": "QuadraticCost", "cross-entropy": "CrossEntropyCost",
                "log-likelihood": "LogLikelihoodCost"}


def save(network, path):
    """Save ``network`` to ``path``; the format follows the suffix (.json or .npz).

    Examples
    --------
    >>> import tempfile, os
    >>> net = Network([3, 2], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> save(net, path); load(path).sizes
    [3, 2]
    """
    path = os.fspath(path)
    if path.endswith(".npz"):
        buf = io.BytesIO()
        arrays = {f"weights_{i}": w for i, w in enumerate(network.weights)}
        arrays.update({f"biases_{i}": b for i, b in enumerate(network.biases)})
        meta = _meta(network)
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write(path, buf.getvalue())
    else:
        data = _meta(network)
        data["weights"] = [w.tolist() for w in network.weights]
        data["biases"] = [b.reshape(-1, 1).tolist() for b in network.biases]
        atomic_write(path, json.dumps(data).encode())


def _meta(network):
    return {"sizes": network.sizes, "cost": _CLASS_NAMES[network.cost.name],
            "activation": network.activation.name, "initializer": network.initializer.name,
            "dtype": str(network.weights[0].dtype), "format": "wdecay-1"}


def load(path):
    """Load a network saved by :func:`save` or by ``network2.Network.save``.

    Raises ``ValueError`` naming the file for a corrupt, truncated or
    inconsistent file (shapes that do not match ``sizes``, an unknown cost).
    """
    path = os.fspath(path)
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                n = len(meta["sizes"]) - 1
                weights = [f[f"weights_{i}"] for i in range(n)]
                biases = [f[f"biases_{i}"] for i in range(n)]
        else:
            with open(path, "rb") as fh:
                meta = json.loads(fh.read().decode())
            weights, biases = meta["weights"], meta["biases"]
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"cannot read a network from {path!r}: the file is corrupt, "
                         f"truncated or not a saved network ({type(exc).__name__}: {exc})") from exc
    return _build(meta, weights, biases, path)


def _build(meta, weights, biases, path):
    try:
        sizes = [int(s) for s in meta["sizes"]]
        cost = get_cost(meta.get("cost", "CrossEntropyCost"))
        net = Network(sizes, cost=cost, activation=meta.get("activation", "sigmoid"),
                      initializer=meta.get("initializer", "default"), seed=0,
                      dtype=meta.get("dtype", "float64"))
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
