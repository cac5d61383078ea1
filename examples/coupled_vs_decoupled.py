"""Coupled against decoupled weight decay at the same lmbda: Adam against AdamW, SGD for scale.

Trains [784, 30, 10] (N(0, 1) weights, cross-entropy) on the embedded 4,000
training digits with the book's lmbda = 5 three ways: SGD (eta 0.1, Nielsen's
update), Adam with the L2 gradient (lmbda/n) w going through Adam ("coupled",
PyTorch ``Adam(weight_decay=lmbda/n)``) and AdamW (weights multiplied by
1 - eta lmbda/n every step, "decoupled", PyTorch ``AdamW(weight_decay=lmbda/n)``),
both with eta 0.001. Prints per epoch and layer the RMS of the weights and the
effective decay: the fraction of ||W||^2 that the decay part of the steps
removed in that epoch, -D / ||W||^2 (NormBudget's D, summed over the epoch).

    python examples/coupled_vs_decoupled.py [--epochs 10] [--lmbda 5]
"""

import argparse
import os

import numpy as np

import wdecay
from wdecay import monitors as M
from wdecay.datasets import load_mnist_sample
from wdecay.optim import SGD, Adam, AdamW

RUNS = (("SGD", SGD(), 0.1), ("Adam coupled", Adam(), 0.001), ("AdamW decoupled", AdamW(), 0.001))


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if small else 10)
    parser.add_argument("--lmbda", type=float, default=5.0)
    args = parser.parse_args(argv)
    (X, y), validation, _ = load_mnist_sample()
    if small:
        X, y = X[:1000], y[:1000]
    print(f"[784, 30, 10], {len(X)} training digits, lmbda = {args.lmbda:g}, batch 10")
    results = {}
    for name, optimizer, eta in RUNS:
        net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
        h = net.fit(X, y, epochs=args.epochs, batch_size=10, eta=eta,
                    regularizer=wdecay.L2(args.lmbda), evaluation_data=validation,
                    monitors=[M.WeightNorms(), M.NormBudget()], optimizer=optimizer, seed=0)
        results[name] = h
        print(f"\n{name} (eta = {eta:g}): eval accuracy {h['eval/accuracy'][-1]:.3f}")
        print(f"{'epoch':>5} {'rms 1':>8} {'rms 2':>8} {'decay 1':>9} {'decay 2':>9}")
        for i, epoch in enumerate(h["epoch"]):
            if epoch == 0:
                continue
            cells = [h[f"layer{l}/rms"][i] for l in (1, 2)]
            # -D over ||W||^2 at the epoch's start: the share of the norm decay removed
            cells += [-h[f"layer{l}/budget_D"][i] / h[f"layer{l}/fro2"][i - 1] for l in (1, 2)]
            print(f"{epoch:>5d} {cells[0]:8.4f} {cells[1]:8.4f} {cells[2]:9.2e} {cells[3]:9.2e}")
    ratio = [results["Adam coupled"][f"layer{l}/budget_D"][-1]
             / results["AdamW decoupled"][f"layer{l}/budget_D"][-1] for l in (1, 2)]
    print(f"\nlast epoch, decay's D coupled / decoupled: layer 1 {ratio[0]:.3g}, "
          f"layer 2 {ratio[1]:.3g}")
    return 0 if all(np.isfinite(ratio)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
