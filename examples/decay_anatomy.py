"""The anatomy of weight decay in the book's network: angles, step sizes, saturation, noise.

Trains the book's network ([784, 30, 10], N(0, 1) weights, cross-entropy,
eta 0.1, m 10) with Nielsen's L2 rule on the embedded 4,000-digit MNIST sample
for each lmbda, and measures, with wdecay's monitors:

* the per-step angle between W_t and W_{t+1} (``AngularUpdate``), against
  sqrt(2 eta lmbda / n), the angle of a scale-invariant layer's "rotational
  equilibrium", and (angle / that)^2 against the noise share Q/(-D);
* in epoch 1, the gradient step ||eta g_B|| against the decay step
  ||eta (lmbda/n) W|| and the cosine between W and the gradient step;
* at the plateau (the mean over the last ``--window`` epochs): the hidden
  units' mean sigma'(z) on the validation digits (``Saturation``; and at the
  end the fraction of hidden weighted inputs with |z| > 3), the norm budget's R
  and its second-order part Q/(-D) (``NormBudget``) and kappa (``Balance``);
* the output layer's mean weight at the start, at its most negative and at
  the plateau, against the standard error std / sqrt(N) that signs cancelling
  at random would leave, and the output biases' mean (biases are not decayed).

Prints a table and writes ``decay_anatomy.json``.

    python examples/decay_anatomy.py [--lmbdas 5 20 50] [--epochs 150] [--window 30]
                                     [--out decay_anatomy]

Small settings for CI: WDECAY_EXAMPLE_SMALL=1 (500 digits, one lmbda, 3 epochs).
"""

import argparse
import math
import os

import numpy as np

import wdecay
from wdecay import monitors as M
from wdecay._files import atomic_write
from wdecay._json import dumps
from wdecay.datasets import load_mnist_sample

PER_STEP = ("angle", "angle_rms", "grad_step", "decay_step", "grad_cos", "grad_abs_cos")


def anatomy(X, y, Xv, yv, lmbda, epochs, window, eta=0.1, m=10, seed=0):
    """Train once and measure; one dict with the run's settings and per-layer values."""
    net = wdecay.Network([784, 30, 10], initializer="large", seed=seed)
    h = net.fit(X, y, epochs=epochs, batch_size=m, eta=eta, regularizer=wdecay.L2(lmbda),
                evaluation_data=(Xv, yv), seed=seed,
                monitors=[M.AngularUpdate(), M.NormBudget(), M.Balance(), M.Saturation(),
                          M.LayerStatistics(biases=True), M.SumVsAbsSum(), M.WeightNorms()])
    n = len(X)
    z_hidden = net.forward(Xv)[0][0]
    row = {"lmbda": lmbda, "n": n, "eta": eta, "batch_size": m, "epochs": epochs,
           "window": window, "rotational_angle": math.sqrt(2 * eta * lmbda / n),
           "fprime_start": float(h["layer1/mean_fprime"][0]),
           "fprime_plateau": float(np.mean(h["layer1/mean_fprime"][-window:])),
           "saturated_end": float(np.mean(np.abs(z_hidden) > 3))}
    for l in (1, 2):
        def at(key, epochs):
            return float(np.mean(np.asarray(h[f"layer{l}/{key}"])[epochs]))

        mean, size = np.asarray(h[f"layer{l}/mean"]), net.weights[l - 1].size
        extreme = int(np.argmax(np.abs(mean)))  # the epoch the mean weight is furthest from 0
        stderr = np.sqrt(np.asarray(h[f"layer{l}/var"]) / size)  # of the mean, signs at random
        row[f"layer{l}"] = {
            "epoch1": {key: at(key, 1) for key in PER_STEP + ("R", "rho")},
            "plateau": {key: at(key, slice(-window, None)) for key in
                        PER_STEP + ("R", "G_ratio", "Q_ratio", "kappa", "rms", "mean",
                                    "cancellation")},
            "mean_start": float(mean[0]), "mean_end": float(mean[-1]),
            "mean_extreme": float(mean[extreme]), "mean_extreme_epoch": extreme,
            "stderr_extreme": float(stderr[extreme]), "stderr_end": float(stderr[-1]),
            # units whose incoming weights have a negative mean, at the end
            "units_negative_end": int(np.sum(net.weights[l - 1].mean(axis=1) < 0)),
            "bias_mean_start": at("bias_mean", 0), "bias_mean_end": at("bias_mean", -1),
        }
    return row


def print_table(rows):
    print(f"{'lmbda':>5} {'layer':>5} {'angle':>7} {'rms':>7} {'sqrt(2ηλ/n)':>11} "
          f"{'(rms/that)^2':>12} {'Q/(-D)':>7} {'R':>6} {'kappa':>6} {'grad/decay ep1':>14} "
          f"{'cos ep1':>8} {'|cos| ep1':>9} {'mean w: start':>13} {'extreme (epoch)':>16} "
          f"{'plateau':>8} {'stderr':>7} {'mean b: start':>13} {'end':>7}")
    for r in rows:
        for l in (1, 2):
            d = r[f"layer{l}"]
            p, e1 = d["plateau"], d["epoch1"]
            extreme = f"{d['mean_extreme']:.4f} ({d['mean_extreme_epoch']})"
            print(f"{r['lmbda']:>5g} {l:>5} {p['angle']:>7.4f} {p['angle_rms']:>7.4f} "
                  f"{r['rotational_angle']:>11.4f} "
                  f"{(p['angle_rms'] / r['rotational_angle']) ** 2:>12.3f} {p['Q_ratio']:>7.3f} "
                  f"{p['R']:>6.3f} {p['kappa']:>6.3f} "
                  f"{e1['grad_step'] / e1['decay_step']:>14.2f} {e1['grad_cos']:>8.4f} "
                  f"{e1['grad_abs_cos']:>9.4f} {d['mean_start']:>13.4f} {extreme:>16} "
                  f"{p['mean']:>8.4f} {d['stderr_end']:>7.4f} {d['bias_mean_start']:>13.3f} "
                  f"{d['bias_mean_end']:>7.3f}")
        print(f"{r['lmbda']:>5g} hidden mean sigma'(z): start {r['fprime_start']:.3f}, "
              f"plateau {r['fprime_plateau']:.3f} (0.25 unsaturated); |z| > 3 at the end: "
              f"{100 * r['saturated_end']:.0f}%", flush=True)


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmbdas", type=float, nargs="+",
                        default=[5.0] if small else [5.0, 20.0, 50.0])
    parser.add_argument("--epochs", type=int, default=3 if small else 150)
    parser.add_argument("--window", type=int, default=2 if small else 30)
    parser.add_argument("--out", default="decay_anatomy")
    args = parser.parse_args(argv)
    (X, y), (Xv, yv), _ = load_mnist_sample()
    if small:
        X, y = X[:500], y[:500]
    rows = [anatomy(X, y, Xv, yv, lmbda, args.epochs, args.window) for lmbda in args.lmbdas]
    print_table(rows)
    os.makedirs(args.out, exist_ok=True)
    atomic_write(os.path.join(args.out, "decay_anatomy.json"), dumps(rows, indent=1).encode())
    return rows


if __name__ == "__main__":
    main()
