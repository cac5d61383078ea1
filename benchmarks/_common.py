"""Shared helpers of the benchmark scripts: data and interleaved timing."""

import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # for tests/reference.py


def training_data(n=50_000, n_eval=10_000, seed=0):
    """Fashion-MNIST if Debian's package is installed, else random data of the same shape."""
    from wdecay.datasets import load_fashion_mnist

    try:
        (X, y), (Xv, yv), _ = load_fashion_mnist()
        return "fashion-mnist", X[:n], y[:n], Xv[:n_eval], yv[:n_eval]
    except FileNotFoundError:
        rng = np.random.default_rng(seed)
        return ("random", rng.random((n, 784)), rng.integers(0, 10, n),
                rng.random((n_eval, 784)), rng.integers(0, 10, n_eval))


def mnist_tiled(n=50_000):
    """The embedded 5,000-digit MNIST sample (all splits) tiled to ``n`` rows: X float64, y."""
    with np.load(os.path.join(ROOT, "wdecay", "datasets", "data", "mnist_5k.npz")) as data:
        X = data["images"].reshape(len(data["images"]), -1) / 255.0
        y = data["labels"].astype(np.intp)
    reps = -(-n // len(X))
    return np.tile(X, (reps, 1))[:n], np.tile(y, reps)[:n]


def interleaved(fns, repeats, warmup=True):
    """Run each callable of ``fns`` (a dict) once per round, ``repeats`` rounds; return medians.

    One untimed warm-up round first: on these virtual machines the first touch
    of fresh memory is many times slower than later use.
    """
    times = {name: [] for name in fns}
    if warmup:
        for fn in fns.values():
            fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}, times


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        return "threadpoolctl not installed"
