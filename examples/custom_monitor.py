"""Write your own monitor: the fraction of each layer's weights below 1/sqrt(n_in).

A monitor subclasses ``wdecay.monitors.Monitor`` and returns a dict of named
values from ``on_epoch_end``; they land in the history and its CSV file.

    python examples/custom_monitor.py [--epochs 10] [--out custom_monitor] [--overwrite]

A second run into the same folder stops with a message instead of silently
continuing the first run's history.csv; ``--overwrite`` starts it afresh.
"""

import argparse
import os

import numpy as np

import wdecay
from wdecay import monitors as M
from wdecay.datasets import load_mnist_sample
from wdecay.history import History


class SmallWeights(M.Monitor):
    """Fraction of weights with |w| < 1/sqrt(n_in), per layer: ``layer{l}/frac_small``."""

    def on_epoch_end(self, state):
        return {f"layer{l}/frac_small": float(np.mean(np.abs(w) < 1 / np.sqrt(w.shape[1])))
                for l, w in enumerate(state.weights, 1)}


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if small else 10)
    parser.add_argument("--out", default="custom_monitor")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the history.csv of an earlier run in --out")
    args = parser.parse_args(argv)
    csv_path = os.path.join(args.out, "history.csv")
    if os.path.exists(csv_path):
        if not args.overwrite:
            parser.error(f"{csv_path} exists from an earlier run; pass --overwrite to replace "
                         "it, or choose another --out")
        os.unlink(csv_path)
    os.makedirs(args.out, exist_ok=True)
    (X, y), validation, _ = load_mnist_sample()
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    history = net.fit(X, y, epochs=args.epochs, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                      evaluation_data=validation, monitors=[SmallWeights()], seed=0,
                      history=History(path=csv_path, mode="new"))
    for epoch, a, b in zip(history["epoch"], history["layer1/frac_small"],
                           history["layer2/frac_small"]):
        print(f"epoch {epoch:>3}: small weights {100 * a:5.1f}% (layer 1), {100 * b:5.1f}% (layer 2)")
    return history


if __name__ == "__main__":
    main()
