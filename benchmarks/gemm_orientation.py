"""The two first-layer products of the numba kernel in its two possible layouts of W_0.

Times, per dtype, 5,000 batch-10 steps of [784, 30] (consecutive rows of
Fashion-MNIST, or random inputs without it) through the kernel's own gemm call
(``wdecay.numba_backend._gemm``, scipy's Fortran BLAS), one BLAS thread,
interleaved repeats, medians of CPU time:

- ``W_0 (out, in)``: the forward ``Z = X W_0^T`` and the update
  ``W_0 <- W_0 - Delta^T X`` with the weights stored as ``network.weights[0]``
  is (the dense path's layout);
- ``W_0^T (in, out)``: the same products with the weights stored transposed
  (the CSR path's layout, and the dense path's before).

    python benchmarks/gemm_orientation.py [--repeats 7]
"""

import argparse
import os
import statistics
import time

import numpy as np
from _common import blas_info, training_data

from wdecay import numba_backend
from wdecay._threads import blas_threads


def make_runs():
    """The two compiled loops: ``run(X, W, D, Z)`` over the batches of 10 rows of X."""
    import numba

    numba_backend._kernel()  # binds the BLAS symbols and builds _gemm
    gemm = numba_backend._gemm

    @numba.njit
    def stored_as_w(X, W, D, Z):  # W: (out, in), column-major (in, out)
        n_out, n_in = W.shape
        for start in range(0, X.shape[0] - 9, 10):
            xb = X[start:start + 10]
            gemm(True, False, n_out, 10, n_in, 1.0, W, n_in, xb, n_in, 0.0, Z, n_out)
            gemm(False, True, n_in, n_out, 10, -1e-9, xb, n_in, D, n_out, 1.0, W, n_in)

    @numba.njit
    def stored_as_wt(X, V, D, Z):  # V = W^T: (in, out), column-major (out, in)
        n_in, n_out = V.shape
        for start in range(0, X.shape[0] - 9, 10):
            xb = X[start:start + 10]
            gemm(False, False, n_out, 10, n_in, 1.0, V, n_out, xb, n_in, 0.0, Z, n_out)
            gemm(False, True, n_out, n_in, 10, -1e-9, D, n_out, xb, n_in, 1.0, V, n_out)

    return stored_as_w, stored_as_wt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    stored_as_w, stored_as_wt = make_runs()
    source, X64, _, _, _ = training_data()
    print(f"data: {source}, 5,000 steps of batch 10, [784, 30]; BLAS: {blas_info()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        X = np.ascontiguousarray(X64, dtype)
        W = rng.standard_normal((30, 784)).astype(dtype)
        V = np.ascontiguousarray(W.T)
        D = rng.standard_normal((10, 30)).astype(dtype)
        Z = np.empty((10, 30), dtype)
        runs = {"W_0 (out, in)": lambda: stored_as_w(X, W, D, Z),
                "W_0^T (in, out)": lambda: stored_as_wt(X, V, D, Z)}
        times = {name: [] for name in runs}
        with blas_threads(1):
            for run in runs.values():  # compile, first touch
                run()
            for _ in range(args.repeats):
                for name, run in runs.items():
                    t0 = time.process_time()
                    run()
                    times[name].append(time.process_time() - t0)
        for name, ts in times.items():
            print(f"{np.dtype(dtype).name:>8} {name:>16}: {statistics.median(ts):.4f} s cpu")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
