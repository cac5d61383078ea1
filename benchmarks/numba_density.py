"""Where the numba backend's CSR first layer beats its dense one: epoch time against input density.

Inputs are uniform in [0, 1) with each entry kept with probability ``density``
(20,000 x 784 by default), plus the real MNIST sample (tiled to the same rows)
and Fashion-MNIST when installed. For each, one epoch of [784, 30, 10] at
batch 10 runs through the dense and the CSR kernel (one BLAS thread,
interleaved repeats, medians of wall and of CPU time; the ratios use CPU
time, which other load on a shared machine disturbs less). The printed crossover, interpolated where
dense/CSR crosses 1, is the measurement behind
``wdecay.numba_backend.SPARSE_DENSITY``.

    python benchmarks/numba_density.py [--repeats 3] [--n 20000] [--dtype float64 float32]
                                       [--batch 10 100]
"""

import argparse
import os
import statistics
import time

import numpy as np
from _common import blas_info, interleaved, mnist_tiled

import wdecay
from wdecay._threads import blas_threads
from wdecay.datasets import load_fashion_mnist
from wdecay.numba_backend import NumbaEpoch

DENSITIES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def epoch_times(X, y, dtype, repeats, batch=10):
    """Median seconds per epoch of the dense and the CSR kernel on ``X``."""
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.eye(10, dtype=dtype)[y]
    n = len(X)
    kernels = {}
    for sparse in (False, True):
        net = wdecay.Network([784, 30, 10], seed=0, dtype=dtype)
        kernels["csr" if sparse else "dense"] = NumbaEpoch(net, X, Y, batch, sparse=sparse)
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    cpu = {name: [] for name in kernels}

    def run(name, kernel):
        def fn():
            with blas_threads(1):
                t0 = time.process_time()
                kernel.run(order, 0.1, 1.0 - 0.1 * 5.0 / n)
                cpu[name].append(time.process_time() - t0)
        return fn

    med, _ = interleaved({name: run(name, k) for name, k in kernels.items()}, repeats)
    med_cpu = {name: statistics.median(ts[1:]) for name, ts in cpu.items()}  # no warm-up
    return med, med_cpu, np.count_nonzero(X) / X.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    parser.add_argument("--batch", nargs="+", type=int, default=[10, 100])
    args = parser.parse_args()
    print(f"[784, 30, 10], {args.n} rows, one BLAS thread; BLAS: {blas_info()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, args.n)
    data = []
    for density in DENSITIES:
        data.append(("random", rng.random((args.n, 784)) * (rng.random((args.n, 784)) < density),
                     y))
    data.append(("mnist sample x10", *mnist_tiled(args.n)))
    try:
        (Xf, yf), _, _ = load_fashion_mnist()
        data.append(("fashion-mnist", Xf[:args.n], yf[:args.n]))
    except FileNotFoundError:
        pass
    for dtype in args.dtype:
        for batch in args.batch:
            print(f"\n{dtype}, batch {batch}")
            print(f"{'inputs':>18} {'density':>8} {'dense s':>8} {'CSR s':>8} "
                  f"{'dense cpu':>10} {'CSR cpu':>8} {'dense/CSR cpu':>14}")
            points = []
            for name, X, yr in data:
                med, cpu, measured = epoch_times(X, yr, np.dtype(dtype), args.repeats, batch)
                ratio = cpu["dense"] / cpu["csr"]
                if name == "random":
                    points.append((measured, ratio))
                print(f"{name:>18} {measured:>8.3f} {med['dense']:>8.3f} {med['csr']:>8.3f} "
                      f"{cpu['dense']:>10.3f} {cpu['csr']:>8.3f} {ratio:>14.2f}", flush=True)
            crossover = None
            for (d0, r0), (d1, r1) in zip(points, points[1:]):
                if r0 >= 1.0 > r1:
                    crossover = d0 + (r0 - 1.0) * (d1 - d0) / (r0 - r1)
                    break
            print(f"crossover ({dtype}, batch {batch}, dense/CSR cpu = 1): "
                  + (f"density {crossover:.3f}" if crossover is not None else "not bracketed"))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
