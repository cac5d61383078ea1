"""16 networks at batch 10: one after another with Network.fit, against train_many in lockstep.

Both on the numpy backend (the lockstep's lead), and, with numba installed,
both on the compiled backend (one network after another, sharing one prepared
kernel), which ``train_many(backend="auto")`` picks when it can.

Two shapes, 50,000 examples each: the seed network [784, 30, 10] (Fashion-MNIST if
installed, else random) and [64, 30, 10] on random 64-input data. Prints, per
shape, the epoch time both ways (medians of interleaved repeats), their ratio,
the compute floor (multiply-adds of 16 networks over a large GEMM's measured
rate), float32 lockstep figures, and the peak RSS of training the seed network
(measured in a fresh process).

    python benchmarks/sweep_speed.py [--repeats 3]
"""

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from _common import ROOT, blas_info, interleaved, training_data

import wdecay
from wdecay._threads import blas_threads
from wdecay.numba_backend import available as numba_available
from wdecay.sweep import train_many

K = 16
LMBDAS = np.geomspace(0.5, 50, K)


def gemm_rate(dtype=np.float64, size=1500):
    a = np.random.default_rng(0).random((size, size)).astype(dtype)
    with blas_threads(1):
        a @ a
        t = time.perf_counter()
        for _ in range(3):
            a @ a
    return 3 * 2 * size ** 3 / (time.perf_counter() - t)


def floor_seconds(sizes, n, rate):
    """2 * multiply-adds per epoch of K networks (forward, weight gradients, deltas) / rate."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    macs = sum(i * o for i, o in pairs) * 2 + sum(i * o for i, o in pairs[1:])
    return 2 * macs * n * K / rate


def peak_rss(dtype):
    """RSS with the data loaded, and the peak during one epoch (Linux: VmHWM reset via clear_refs)."""
    code = f"""
import numpy as np, wdecay
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
X = np.random.default_rng(0).random((50000, 784)); y = np.arange(50000) % 10
# a tiny fit first loads what a first fit loads (numba and its cached kernel, when
# installed: about 50-100 MB of code, not data)
wdecay.Network([784, 30, 10], seed=0, dtype=np.{dtype}).fit(X[:20], y[:20], epochs=1,
                                                             batch_size=10, eta=0.1)
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current RSS
wdecay.Network([784, 30, 10], initializer="large", seed=0, dtype=np.{dtype}).fit(
    X, y, epochs=1, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0), seed=0)
print(before, status("VmHWM"))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    before, peak = (float(v) for v in out.stdout.split())
    return before, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rate = gemm_rate()
    print(f"BLAS: {blas_info()}; large float64 GEMM, 1 thread: {rate / 1e9:.1f} GFLOP/s")
    source, X784, y784, _, _ = training_data()
    rng = np.random.default_rng(0)
    shapes = [([784, 30, 10], X784, y784, source),
              ([64, 30, 10], rng.random((50_000, 64)), rng.integers(0, 10, 50_000), "random")]
    report = {}
    for sizes, X, y, src in shapes:
        configs = [dict(eta=0.1, lmbda=float(l), initializer="large", init_seed=i)
                   for i, l in enumerate(LMBDAS)]

        def one_by_one(backend):
            def go():
                for c in configs:
                    wdecay.Network(sizes, initializer="large", seed=c["init_seed"]).fit(
                        X, y, epochs=1, batch_size=10, eta=0.1,
                        regularizer=wdecay.L2(c["lmbda"]), seed=0, backend=backend)
            return go

        def lockstep(dtype=np.float64, backend="numpy"):
            return lambda: train_many(X, y, configs, sizes=sizes, epochs=1, batch_size=10, seed=0,
                                      dtype=dtype, backend=backend)

        impls = {"fit x16": one_by_one("numpy"), "lockstep": lockstep(),
                 "lockstep float32": lockstep(np.float32)}
        if numba_available():
            impls.update({"fit x16 numba": one_by_one("numba"),
                          "train_many numba": lockstep(backend="numba")})
        med, _ = interleaved(impls, args.repeats)
        floor = floor_seconds(sizes, len(X), rate)
        ratio = med["fit x16"] / med["lockstep"]
        print(f"\n{sizes} on {len(X)} {src} examples, {K} networks, batch 10, one epoch:")
        print(f"  one by one (fit, numpy)  {med['fit x16']:7.2f} s")
        print(f"  lockstep (numpy)         {med['lockstep']:7.2f} s   ratio {ratio:.2f}x")
        print(f"  lockstep float32         {med['lockstep float32']:7.2f} s   "
              f"({med['lockstep'] / med['lockstep float32']:.2f}x faster than float64)")
        if "fit x16 numba" in med:
            print(f"  one by one, numba backend {med['fit x16 numba']:6.2f} s")
            print(f"  train_many, numba backend {med['train_many numba']:6.2f} s   "
                  f"({med['lockstep'] / med['train_many numba']:.2f}x faster than lockstep; "
                  f"backend='auto' picks it)")
        print(f"  compute floor (float64)  {floor:7.2f} s")
        nets64, _ = train_many(X, y, configs[:2], sizes=sizes, epochs=1, batch_size=10, seed=0)
        nets32, _ = train_many(X, y, configs[:2], sizes=sizes, epochs=1, batch_size=10, seed=0,
                               dtype=np.float32)
        diff = max(np.max(np.abs(a - b)) / np.max(np.abs(b))
                   for n32, n64 in zip(nets32, nets64)
                   for a, b in zip(n32.parameters(), n64.parameters()))
        print(f"  float32 against float64 after one epoch: max relative weight difference {diff:.1e}")
        report[str(sizes)] = dict(med, ratio=ratio, floor=floor, float32_diff=diff)
    for dtype in ("float64", "float32"):
        before, peak = peak_rss(dtype)
        print(f"\npeak RSS, seed network in {dtype} on 50,000 random float64 inputs (313 MB): "
              f"{before:.0f} MB with the data loaded, peak {peak:.0f} MB during one epoch "
              f"(+{peak - before:.0f} MB)")
    return report


if __name__ == "__main__":
    json.dumps(main(), default=float)
