"""Where does weight decay tail off? Plateau RMS of the first layer for several lmbda.

Trains the book's network ([784, 30, 10], N(0, 1) weights, cross-entropy, eta 0.1,
batch 10) on the embedded MNIST sample for each lmbda, long enough for the
first layer to level off, and compares the plateau (mean RMS over the last
fifth of the epochs) with 1/sqrt(N), 1/sqrt(n_in) and 1/sqrt(E|x|^2). Prints a
table, writes ``tailoff.json`` and, with matplotlib, ``tailoff.png``.

    python examples/tailoff_study.py [--lmbdas 5 10 20 40] [--epochs 120] [--out tailoff]

Small settings for CI: WDECAY_EXAMPLE_SMALL=1 (2 lmbdas, 6 epochs).
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


def study(lmbdas, epochs, eta=0.1, batch_size=10, seed=0):
    (X, y), (Xv, yv), _ = load_mnist_sample()
    rows = []
    for lmbda in lmbdas:
        net = wdecay.Network([784, 30, 10], initializer="large", seed=seed)
        h = net.fit(X, y, epochs=epochs, batch_size=batch_size, eta=eta,
                    regularizer=wdecay.L2(lmbda), evaluation_data=(Xv, yv),
                    monitors=[M.NormBudget(), M.DecayPrediction()], seed=seed)
        rms = h["layer1/rms"]
        last = max(1, epochs // 5)
        tail = float(h["layer1/tailoff_epoch"][-1])
        rows.append({
            "lmbda": lmbda, "lmbda_over_n": lmbda / len(X), "epochs": epochs,
            "plateau_rms": float(np.mean(rms[-last:])),
            "plateau_spread": float(np.ptp(rms[-last:]) / np.mean(rms[-last:])),
            "tailoff_epoch": tail,
            "rms_at_tailoff": math.nan if math.isnan(tail) else float(rms[int(tail)]),
            "R_final": float(h["layer1/R"][-1]),
            "eval_accuracy": float(h["eval/accuracy"][-1]),
            "ref_inv_sqrt_N": float(h["layer1/ref_inv_sqrt_N"][-1]),
            "ref_inv_sqrt_fan_in": float(h["layer1/ref_inv_sqrt_fan_in"][-1]),
            "ref_inv_sqrt_input_power": float(h["layer1/ref_inv_sqrt_input_power"][-1]),
        })
    return rows


REFERENCE_STYLES = (("ref_inv_sqrt_N", "1/sqrt(N), N all weights", dict(ls=":", color="k")),
                    ("ref_inv_sqrt_fan_in", "1/sqrt(n_in)", dict(ls="--", color="tab:green")),
                    ("ref_inv_sqrt_input_power", "1/sqrt(E|x|^2)",
                     dict(ls="-.", color="tab:red")))


def plot_rows(rows, path):
    """Plateau RMS against lmbda/n, log-log, each reference level in its own style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    ax.loglog([r["lmbda_over_n"] for r in rows], [r["plateau_rms"] for r in rows], "o-", lw=2,
              label="layer-1 plateau RMS (measured)")
    ax.xaxis.set_minor_formatter(NullFormatter())
    for key, name, style in REFERENCE_STYLES:
        ax.axhline(rows[0][key], lw=1.2, label=name, **style)
    ax.set_xlabel("lmbda / n")
    ax.set_ylabel("plateau RMS of layer 1")
    ax.set_title("Where weight decay levels off")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmbdas", type=float, nargs="+", default=[20, 40] if small else [5, 10, 20, 40])
    parser.add_argument("--epochs", type=int, default=6 if small else 120)
    parser.add_argument("--out", default="tailoff")
    args = parser.parse_args(argv)
    rows = study(args.lmbdas, args.epochs)
    print(f"{'lmbda':>6} {'plateau RMS':>11} {'tail-off':>8} {'RMS there':>9} {'R end':>6} "
          f"{'x 1/sqrt(N)':>11} {'x 1/sqrt(n_in)':>14} {'x 1/sqrt(E|x|^2)':>16}")
    for r in rows:
        print(f"{r['lmbda']:>6g} {r['plateau_rms']:>11.4f} {r['tailoff_epoch']:>8g} "
              f"{r['rms_at_tailoff']:>9.4f} {r['R_final']:>6.2f} "
              f"{r['plateau_rms'] / r['ref_inv_sqrt_N']:>11.1f} "
              f"{r['plateau_rms'] / r['ref_inv_sqrt_fan_in']:>14.2f} "
              f"{r['plateau_rms'] / r['ref_inv_sqrt_input_power']:>16.2f}")
    os.makedirs(args.out, exist_ok=True)
    atomic_write(os.path.join(args.out, "tailoff.json"), dumps(rows, indent=1).encode())
    try:
        plot_rows(rows, os.path.join(args.out, "tailoff.png"))
    except ImportError:
        print('no plot: pip install "wdecay[plot]"')
    return rows


if __name__ == "__main__":
    main()
