"""How hard SGD's noise pushes the weights out, predicted before training.

Each SGD step adds the second-order term Q = eta^2 ||g_B||^2 to a layer's
||W||^2, on top of decay's shrink D and the gradient's first-order part. For
the book's network on the embedded 4,000-digit MNIST sample (N(0, 1) weights,
eta 0.1, m 10) and each lmbda, this example finds the stationary point of
C0 + penalty with :func:`wdecay.equilibrium.predict_tailoff` and prints each
layer's predicted share Q/(-D) there (:func:`wdecay.equilibrium.gradient_noise`,
exact over all mini-batches). At the stationary point the full-batch gradient
adds only eta lmbda / (2 n) of decay's shrink to Q, so the share is almost all
noise. ``examples/decay_anatomy.py`` measures Q/(-D) at
SGD's plateau; ``examples/predict_tailoff.py --fashion`` does both on
Fashion-MNIST at the book's lmbda/n. Writes ``noise_share.json``.

    python examples/noise_share.py [--lmbdas 2 5 20 50] [--out noise_share]

Small settings for CI: WDECAY_EXAMPLE_SMALL=1 (300 digits, [784, 5, 10], one lmbda).
"""

import argparse
import os

import wdecay
from wdecay._files import atomic_write
from wdecay._json import dumps
from wdecay.datasets import load_mnist_sample
from wdecay.equilibrium import predict_tailoff


def shares(X, y, lmbda, sizes=(784, 30, 10), eta=0.1, m=10, seed=0):
    """One row per layer: stationary RMS and predicted noise share."""
    net = wdecay.Network(list(sizes), initializer="large", seed=seed)
    p = predict_tailoff(net, X, y, eta=eta, batch_size=m, regularizer=wdecay.L2(lmbda),
                        warm_start_epochs=0, noise=False, tol=1e-3,
                        progress=False)  # the stationary points of the docs' first table
    return [{"lmbda": lmbda, "n": len(X), "eta": eta, "batch_size": m, "layer": layer.layer,
             "stationary_rms": layer.stationary_rms, "noise_share": layer.noise_share,
             "grad_norm": p.stationary.grad_norm} for layer in p]


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmbdas", type=float, nargs="+",
                        default=[20.0] if small else [2.0, 5.0, 20.0, 50.0])
    parser.add_argument("--out", default="noise_share")
    args = parser.parse_args(argv)
    (X, y), _, _ = load_mnist_sample()
    kwargs = {"sizes": (784, 5, 10)} if small else {}
    if small:
        X, y = X[:300], y[:300]
    rows = []
    print(f"{'lmbda':>6} {'layer':>5} {'stationary RMS':>14} {'Q/(-D) predicted':>16}")
    for lmbda in args.lmbdas:
        for r in shares(X, y, lmbda, **kwargs):
            print(f"{lmbda:>6g} {r['layer']:>5} {r['stationary_rms']:>14.4f} "
                  f"{r['noise_share']:>16.4f}", flush=True)
            rows.append(r)
    os.makedirs(args.out, exist_ok=True)
    atomic_write(os.path.join(args.out, "noise_share.json"), dumps(rows, indent=1).encode())
    return rows


if __name__ == "__main__":
    main()
