"""The floor of a batch-10 epoch of [784, 30, 10]: the two first-layer products alone.

Times 5,000 forward products (10x784 by 784x30) and 5,000 gradient products
(30x10 by 10x784) with one BLAS thread, the work no implementation of the step
can skip, and prints them beside a full wdecay epoch.

    python benchmarks/step_floor.py [--repeats 5]
"""

import argparse

import numpy as np
from _common import blas_info, interleaved, training_data

import wdecay
from wdecay._threads import blas_threads


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    source, X, y, _, _ = training_data()
    rng = np.random.default_rng(0)
    W = rng.standard_normal((30, 784))
    D = rng.standard_normal((10, 30))
    Z, G = np.empty((10, 30)), np.empty((30, 784))
    batches = [X[i:i + 10] for i in range(0, len(X), 10)]
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)

    def products():
        with blas_threads(1):
            for xb in batches:
                np.matmul(xb, W.T, out=Z)
                np.matmul(D.T, xb, out=G)

    def epoch():
        net.fit(X, y, epochs=1, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0), seed=0)

    med, _ = interleaved({"products": products, "epoch": epoch}, args.repeats)
    print(f"data: {source}; BLAS: {blas_info()}")
    print(f"first-layer products only: {med['products']:.3f} s per {len(batches)} steps")
    print(f"full wdecay epoch:         {med['epoch']:.3f} s "
          f"({100 * med['products'] / med['epoch']:.0f}% in those products)")


if __name__ == "__main__":
    main()
