"""The book's network in PyTorch, watched by wdecay, against wdecay's own engine.

Builds [784, 30, 10] (sigmoid, cross-entropy) in torch float64 with the same
initial weights as ``wdecay.Network([784, 30, 10], seed=1)``, trains it on the
embedded 4,000 training digits with the same mini-batch order (wdecay's
``rng.permutation(n)`` per epoch from the seed) and ``weight_decay = lmbda / n``
on the weights (biases in a group without decay, as wdecay never decays them),
and compares every history key the two runs share: the per-layer norms,
statistics, signed and absolute sums and the norm budget (``layer1/...`` is
``fc1.weight/...``), and the penalty totals. Prints the worst relative
difference per optimizer and writes the torch SGD run's files into
``torch_mlp/`` (history.csv, history.json, report.html).

    python examples/torch_mlp.py [--epochs 5] [--lmbda 5]
"""

import argparse
import os

import numpy as np
import torch

import wdecay
from wdecay import monitors as M
from wdecay.datasets import load_mnist_sample
from wdecay.torch import book, watch

RUNS = (  # name, wdecay optimizer, torch optimizer (lr, weight decay groups), eta
    ("SGD", None, lambda g, lr: torch.optim.SGD(g, lr=lr), 0.5),
    ("momentum 0.9", wdecay.optim.Momentum(0.9),
     lambda g, lr: torch.optim.SGD(g, lr=lr, momentum=0.9), 0.1),
    ("Nesterov 0.9", wdecay.optim.Nesterov(0.9),
     lambda g, lr: torch.optim.SGD(g, lr=lr, momentum=0.9, nesterov=True), 0.1),
    ("Adam (coupled)", wdecay.optim.Adam(), lambda g, lr: torch.optim.Adam(g, lr=lr), 1e-3),
    ("AdamW", wdecay.optim.AdamW(), lambda g, lr: torch.optim.AdamW(g, lr=lr), 1e-3),
)


def monitors():
    return [M.WeightNorms(), M.LayerStatistics(), M.SumVsAbsSum(), M.NormBudget()]


def torch_run(net, make, eta, X, y, epochs, lmbda, batch_size, seed, path=None):
    model = book.from_network(net)
    n = len(X)
    opt = make(book.parameter_groups(model, lmbda / n), eta)
    with watch(model, opt, monitors=monitors(), path=path, mode="overwrite", n=n,
               title="book network in torch") as rec:
        book.train(model, opt, rec, X, y, epochs=epochs, batch_size=batch_size, seed=seed)
    return rec.history


def compare(h, th):
    """(number of shared keys, worst relative difference, its key)."""
    worst, where, count = 0.0, None, 0
    for key in h.keys():
        if key.startswith("layer"):
            layer, rest = key.split("/", 1)
            tkey = f"fc{layer[5:]}.weight/{rest}"
        elif key in ("total/penalty", "total/penalized"):
            tkey = key
        else:
            continue
        if tkey not in th:
            continue
        count += 1
        a, b = np.asarray(h[key], float), np.asarray(th[tkey], float)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return count, np.inf, key
        ok = ~np.isnan(a)
        err = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300)
        if err.size and err.max() > worst:
            worst, where = float(err.max()), key
    return count, worst, where


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if small else 5)
    parser.add_argument("--lmbda", type=float, default=5.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    (X, y), _, _ = load_mnist_sample()
    if small:
        X, y = X[:500], y[:500]
    batch_size, seed = 10, 2
    print(f"[784, 30, 10] in torch float64 against wdecay.Network.fit: {len(X)} digits, "
          f"{args.epochs} epochs, batch {batch_size}, lmbda = {args.lmbda:g} "
          f"(weight_decay = lmbda/n = {args.lmbda / len(X):g})")
    print(f"{'optimizer':<16} {'eta':>6} {'shared keys':>11} {'worst rel. difference':>22}  at key")
    for name, wopt, make, eta in RUNS:
        net = wdecay.Network([784, 30, 10], seed=1)
        path = "torch_mlp" if name == "SGD" else None
        th = torch_run(net.copy(), make, eta, X, y, args.epochs, args.lmbda, batch_size, seed, path)
        h = net.fit(X, y, epochs=args.epochs, batch_size=batch_size, eta=eta,
                    regularizer=wdecay.L2(args.lmbda), monitors=monitors(), seed=seed,
                    optimizer=wopt, backend="numpy")
        count, worst, key = compare(h, th)
        print(f"{name:<16} {eta:>6g} {count:>11} {worst:>22.2e}  {key}")
    print("files of the SGD run: torch_mlp/history.csv, history.json, report.html")


if __name__ == "__main__":
    main()
