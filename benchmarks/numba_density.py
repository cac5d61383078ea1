"""Where the numba backend's CSR first layer beats its dense one: epoch time against input density.

Inputs are uniform in [0, 1) with each entry kept with probability ``density``
(50,000 x 784 by default), plus the real MNIST sample (tiled to the same rows)
and Fashion-MNIST when installed. For each, one epoch of [784, 30, 10] at
batch 10 runs through the dense and the CSR kernel (one BLAS thread,
interleaved repeats, medians). The printed crossover, interpolated where
dense/CSR crosses 1, is the measurement behind
``wdecay.numba_backend.SPARSE_DENSITY``.

    python benchmarks/numba_density.py [--repeats 3] [--n 50000] [--dtype float64]
"""

import argparse
import os

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

    def run(kernel):
        def fn():
            with blas_threads(1):
                kernel.run(order, 0.1, 1.0 - 0.1 * 5.0 / n)
        return fn

    med, _ = interleaved({name: run(k) for name, k in kernels.items()}, repeats)
    return med, np.count_nonzero(X) / X.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    print(f"[784, 30, 10], batch 10, {dtype}, {args.n} rows; BLAS: {blas_info()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'inputs':>18} {'density':>8} {'dense s':>8} {'CSR s':>8} {'dense/CSR':>10}")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, args.n)
    points = []
    for density in DENSITIES:
        X = rng.random((args.n, 784)) * (rng.random((args.n, 784)) < density)
        med, measured = epoch_times(X, y, dtype, args.repeats)
        points.append((measured, med["dense"] / med["csr"]))
        print(f"{'random':>18} {measured:>8.3f} {med['dense']:>8.3f} {med['csr']:>8.3f} "
              f"{med['dense'] / med['csr']:>10.2f}")
    real = [("mnist sample x10", *mnist_tiled(args.n))]
    try:
        (Xf, yf), _, _ = load_fashion_mnist()
        real.append(("fashion-mnist", Xf[:args.n], yf[:args.n]))
    except FileNotFoundError:
        pass
    for name, X, yr in real:
        med, measured = epoch_times(X, yr, dtype, args.repeats)
        print(f"{name:>18} {measured:>8.3f} {med['dense']:>8.3f} {med['csr']:>8.3f} "
              f"{med['dense'] / med['csr']:>10.2f}")
    crossover = None
    for (d0, r0), (d1, r1) in zip(points, points[1:]):
        if r0 >= 1.0 > r1:
            crossover = d0 + (r0 - 1.0) * (d1 - d0) / (r0 - r1)
            break
    print("crossover (dense/CSR = 1): "
          + (f"density {crossover:.3f}" if crossover is not None else "not bracketed"))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
