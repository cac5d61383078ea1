"""Seconds per epoch of [784, 30, 10] on 50,000 examples with 1 and 2 BLAS threads.

Justifies wdecay.loop.TRAINING_BLAS_THREADS; with ``--convex`` also the seconds
of a softmax fit_optimum (lmbda 50, L2 and L1) on the embedded sample's 4,000
first digits, which justify wdecay.convex.solve.CONVEX_BLAS_THREADS. Run it
alone and again with the other core busy (e.g. `python -c "while True: pass" &`)
to see the effect of load.

    python benchmarks/blas_threads.py [--repeats 3] [--convex]
"""

import argparse

from _common import blas_info, interleaved, training_data

import wdecay
import wdecay.convex.solve as solve
import wdecay.loop as loop
from wdecay.convex import fit_optimum
from wdecay.datasets import load_mnist_sample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--convex", action="store_true", help="time fit_optimum too")
    args = parser.parse_args()
    source, X, y, _, _ = training_data()
    print(f"data: {source}; BLAS: {blas_info()}")
    for batch in (10, 100):
        fns = {}
        for threads in (1, 2):
            def go(threads=threads):
                loop.TRAINING_BLAS_THREADS = threads
                net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
                net.fit(X, y, epochs=1, batch_size=batch, eta=0.1, regularizer=wdecay.L2(5.0))
            fns[threads] = go
        med, _ = interleaved(fns, args.repeats)
        print(f"batch {batch:>3}: 1 thread {med[1]:.3f} s, 2 threads {med[2]:.3f} s, "
              f"2/1 = {med[2] / med[1]:.2f}")
    loop.TRAINING_BLAS_THREADS = 1
    if args.convex:
        convex(args.repeats)


def convex(repeats):
    """fit_optimum on 4,000 sample digits with 1 and 2 BLAS threads, side by side."""
    (X, y), _, _ = load_mnist_sample()
    X, y = X[:4000], y[:4000]
    for penalty in ("l2", "l1"):
        fns = {}
        for threads in (1, 2):
            def go(threads=threads):
                solve.CONVEX_BLAS_THREADS = threads
                fit_optimum(X, y, 50.0, model="softmax", penalty=penalty, tol=1e-6)
            fns[threads] = go
        med, _ = interleaved(fns, repeats)
        print(f"fit_optimum softmax {penalty}: 1 thread {med[1]:.2f} s, 2 threads {med[2]:.2f} s, "
              f"2/1 = {med[2] / med[1]:.2f}")
    solve.CONVEX_BLAS_THREADS = 1


if __name__ == "__main__":
    main()
