"""Seconds per epoch of [784, 30, 10] on 50,000 examples: wdecay against a per-example loop.

The per-example loop is the tests' reference (tests/reference.py), written like
network2.py, run as its stand-in. Both are timed in the same run with
interleaved repeats; medians and their ratio are printed.

    python benchmarks/epoch_speed.py [--repeats 3] [--n 50000]
"""

import argparse

import numpy as np
from _common import blas_info, interleaved, training_data

import wdecay
from tests import reference
from wdecay._threads import blas_threads


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args()
    source, X, y, _, _ = training_data(args.n)
    Y = np.eye(10)[y]
    print(f"data: {source}, {len(X)} examples; BLAS: {blas_info()}")
    print(f"{'batch':>5} {'wdecay s/epoch':>15} {'per-example s/epoch':>20} {'ratio':>7}")
    for batch in (10, 100):
        net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
        w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]

        def fast():
            net.fit(X, y, epochs=1, batch_size=batch, eta=0.1, regularizer=wdecay.L2(5.0), seed=1)

        def slow():
            with blas_threads(1):
                reference.train(w0, b0, X, Y, epochs=1, batch_size=batch, eta=0.1, lmbda=5.0,
                                seed=1)

        med, _ = interleaved({"wdecay": fast, "reference": slow}, args.repeats)
        print(f"{batch:>5} {med['wdecay']:>15.3f} {med['reference']:>20.3f} "
              f"{med['reference'] / med['wdecay']:>6.1f}x")


if __name__ == "__main__":
    main()
