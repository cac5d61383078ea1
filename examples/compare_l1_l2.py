"""L1 against L2 on the book's network: which weights survive, and how large they stay.

Trains [784, 30, 10] (N(0, 1) weights) with L2 and with L1 at the same lmbda and
reports, per layer, the RMS, sum |w| and the fraction of weights below 1e-3.
L2 scales every weight by the same factor; L1 subtracts the same amount from
every |w|, so small weights hit zero (and then hover near it) first.

    python examples/compare_l1_l2.py [--epochs 10] [--lmbda 5] [--out compare_l1_l2]
"""

import argparse
import os

import numpy as np

import wdecay
from wdecay import monitors as M
from wdecay.datasets import load_mnist_sample


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if small else 10)
    parser.add_argument("--lmbda", type=float, default=5.0)
    parser.add_argument("--out", default="compare_l1_l2")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    (X, y), validation, _ = load_mnist_sample()
    histories, results = {}, {}
    for name, reg in (("L2", wdecay.L2(args.lmbda)), ("L1", wdecay.L1(args.lmbda))):
        net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
        histories[name] = net.fit(X, y, epochs=args.epochs, batch_size=10, eta=0.1, regularizer=reg,
                                  evaluation_data=validation, monitors=[M.WeightNorms()], seed=0)
        results[name] = [(float(np.sqrt(np.mean(w ** 2))), float(np.abs(w).sum()),
                          float(np.mean(np.abs(w) < 1e-3))) for w in net.weights]
        print(f"{name}: eval accuracy {histories[name]['eval/accuracy'][-1]:.3f}")
        for l, (rms, l1, tiny) in enumerate(results[name], 1):
            print(f"  layer {l}: RMS {rms:.4f}, sum|w| {l1:.1f}, |w| < 1e-3: {100 * tiny:.1f}%")
    try:
        from wdecay import plot

        plot.overlay(histories, "layer1/rms", path=os.path.join(args.out, "layer1_rms.png"))
    except ImportError:
        print('no plot: pip install "wdecay[plot]"')
    return results


if __name__ == "__main__":
    main()
