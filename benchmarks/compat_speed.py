"""Seconds per epoch of the seed script: wdecay.compat.network2 against a per-example network2.

Seed settings: [784, 30, 10], large init, cross-entropy, batch 10, eta 0.1,
lmbda 5, monitor_evaluation_accuracy on 10,000 examples, 50,000 training
examples. Each SGD call of compat includes turning the list of columns into a
matrix. Interleaved repeats; medians and the ratio are printed.

    python benchmarks/compat_speed.py [--repeats 3]
"""

import argparse
import contextlib
import io
import random

import numpy as np
from _common import blas_info, interleaved, training_data

from tests.network2_reference import Ref
from wdecay._threads import blas_threads
from wdecay.compat import network2
from wdecay.datasets import to_network2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args()
    source, X, y, Xv, yv = training_data(args.n)
    train, evaluation = to_network2(X, y), to_network2(Xv, yv, one_hot=False)
    print(f"data: {source}, {len(train)} training, {len(evaluation)} evaluation; BLAS: {blas_info()}")
    np.random.seed(0)
    net = network2.Network([784, 30, 10])
    net.large_weight_initializer()
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]

    def compat():
        net.weights, net.biases = [w.copy() for w in w0], [b.copy() for b in b0]
        random.seed(0)
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(train, 1, 10, 0.1, lmbda=5.0, evaluation_data=evaluation,
                    monitor_evaluation_accuracy=True)

    def reference():
        ref = Ref([784, 30, 10])
        ref.weights, ref.biases = [w.copy() for w in w0], [b.copy() for b in b0]
        random.seed(0)
        with blas_threads(1):
            ref.SGD(train, 1, 10, 0.1, 5.0, evaluation, monitor=("ea",))

    med, _ = interleaved({"compat": compat, "reference": reference}, args.repeats)
    print(f"compat      {med['compat']:.3f} s/epoch")
    print(f"per-example {med['reference']:.3f} s/epoch")
    print(f"ratio       {med['reference'] / med['compat']:.1f}x")


if __name__ == "__main__":
    main()
