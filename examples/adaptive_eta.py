"""Which eta for Adam and AdamW? The book's experiment at SGD's eta 0.1 and at smaller ones.

Adam divides each step by the running RMS of the gradient, so every weight moves
by about eta per step whatever its gradient: at SGD's eta = 0.1 a weight of size
~1 moves by ~10% per step. This trains the default experiment ([784, 30, 10],
N(0, 1) weights, cross-entropy, L2 lmbda = 5, batch 10, 30 epochs, seed 0, the
embedded sample) with ``--optimizer adam`` and ``adamw`` at several eta and
prints, per run, the RMS factor of each layer and the test accuracy; README.md
quotes its output (``wdecay experiment`` warns when an adaptive optimizer gets
SGD's eta).

    python examples/adaptive_eta.py [--epochs 30] [--etas 0.1 0.01 0.001] [--out FILE.json]
"""

import argparse
import json
import os

from wdecay import experiment as E
from wdecay.datasets import load_mnist_sample


def measure(optimizer, eta, epochs, splits):
    """``{"optimizer", "eta", "test_accuracy", "factors"}`` of one run of the default experiment."""
    settings = {**E.DEFAULTS, "optimizer": optimizer, "eta": eta, "epochs": epochs}
    _, _, summary = E.run(splits, settings, table=False, progress=False)
    return {"optimizer": optimizer, "eta": eta, "test_accuracy": summary["test_accuracy"],
            "factors": [L["factor"] for L in summary["layers"]]}


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1 if small else 30)
    parser.add_argument("--etas", type=float, nargs="+", default=[0.1, 0.01, 0.001])
    parser.add_argument("--optimizers", nargs="+", default=["adam", "adamw"])
    parser.add_argument("--out", default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    (X, y), validation, test = load_mnist_sample()
    if small:
        X, y = X[:500], y[:500]
    splits = ((X, y), validation, test)
    print(f"{'optimizer':<9} {'eta':>6} {'test acc':>8} {'layer 1 RMS factor':>19} "
          f"{'layer 2 RMS factor':>19}")
    rows = []
    for optimizer in args.optimizers:
        for eta in args.etas:
            r = measure(optimizer, eta, args.epochs, splits)
            rows.append(r)
            print(f"{optimizer:<9} {eta:>6g} {r['test_accuracy']:>8.4f} "
                  f"{r['factors'][0]:>19.3f} {r['factors'][1]:>19.3f}", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"epochs": args.epochs, "rows": rows}, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
