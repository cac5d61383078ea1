"""AdamW's and Lion's per-weight fixed point against the measured plateau: the measurement behind their refusal.

For each configuration (AdamW or Lion on the embedded 4,000-digit MNIST sample,
``[784, 30, 10]``, sigmoid, N(0, 1) weights, batch 10, seed 0) this trains
``EPOCHS`` epochs and measures per layer the plateau (mean RMS over the last
30 epochs), its drift and the tail-off epoch (``NormBudget``), then solves
:func:`wdecay.adaptive_equilibrium.adamw_fixed_point` twice:

* from the run's end (the trained network): does a fixed point of the model
  lie at the plateau? (the model's best case: no choice of basin);
* from the initial weights, as a prediction would: where does it go, at what
  cost against the training run?

It also checks the timescale: pure decay at 1 - eta lmbda/n per step from the
initial RMS to the *measured* plateau, t* = ln(RMS_0 / plateau) / (steps eta
lmbda/n), against the measured tail-off. "AdamW, eta 0.001, lmbda 1000",
"AdamW, eta 0.01, lmbda 100" and "Lion, eta 0.0001, lmbda 10000" are rows of
``docs/predictions.rst``; the others were not looked at before.
Writes ``docs/figures/adamw_fixed_point.json`` (``--out``).

    python examples/adamw_fixed_point.py [--only NAME ...] [--out FILE]

Small settings for CI: WDECAY_EXAMPLE_SMALL=1 (one configuration, 300 rows, 4 epochs, 1 round).
"""

import argparse
import json
import math
import os
import time

import numpy as np

import wdecay
from wdecay import monitors as M
from wdecay._files import atomic_write
from wdecay._json import dumps
from wdecay.adaptive_equilibrium import adamw_fixed_point

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "docs", "figures", "adamw_fixed_point.json")
WINDOW = 30
EPOCHS = 150
#: name -> (optimizer, eta, lmbda); batch 10 on the sample
CONFIGS = {
    "AdamW, eta 0.001, lmbda 1000": ("adamw", 0.001, 1000.0),
    "AdamW, eta 0.01, lmbda 100": ("adamw", 0.01, 100.0),
    "AdamW, eta 0.003, lmbda 300": ("adamw", 0.003, 300.0),
    "Lion, eta 0.0001, lmbda 10000": ("lion", 0.0001, 10000.0),
    "Lion, eta 0.0003, lmbda 3000": ("lion", 0.0003, 3000.0),
}


def run(name, optimizer, eta, lmbda, m=10, epochs=EPOCHS, rows=None, rounds=3,
        max_iter=(200, 300)):
    """Train, then solve the fixed point from the end and from the start; one dict per layer."""
    from wdecay.datasets import load_mnist_sample
    from wdecay.optim import get_optimizer

    (X, y), _, _ = load_mnist_sample()
    if rows is not None:
        X, y = X[:rows], y[:rows]
    n, steps = len(X), -(-len(X) // m)
    start = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    net = start.copy()
    began = time.process_time()
    h = net.fit(X, y, epochs=epochs, batch_size=m, eta=eta, regularizer=wdecay.L2(lmbda),
                optimizer=get_optimizer(optimizer),
                monitors=[M.WeightNorms(), M.NormBudget()], seed=0)
    train_cpu = time.process_time() - began
    began = time.process_time()
    step = "lion" if optimizer == "lion" else "adam"
    end = adamw_fixed_point(net, X, y, eta=eta, batch_size=m, lmbda=lmbda, rounds=rounds,
                            max_iter=max_iter[0], step=step)
    end_cpu = time.process_time() - began
    began = time.process_time()
    cold = adamw_fixed_point(start, X, y, eta=eta, batch_size=m, lmbda=lmbda, rounds=rounds,
                             max_iter=max_iter[1], step=step)
    cold_cpu = time.process_time() - began
    window = min(WINDOW, epochs)
    out = []
    for l in range(1, len(start.sizes)):
        rms = np.asarray(h[f"layer{l}/rms"], dtype=float)
        plateau = float(np.mean(rms[-window:]))
        # the first epoch within 2% of the plateau: how long training to it takes
        near = np.flatnonzero(np.abs(rms / plateau - 1) <= 0.02)
        reached = int(near[0]) if near.size else None
        tail = float(h[f"layer{l}/tailoff_epoch"][-1])
        rms0 = float(rms[0])
        decay_epochs = (math.log(rms0 / plateau) / (steps * eta * lmbda / n)
                        if rms0 > plateau else None)
        out.append({
            "config": name, "optimizer": optimizer, "eta": eta, "lmbda": lmbda, "m": m,
            "n": n, "epochs": epochs,
            "layer": l, "measured_plateau": plateau,
            "measured_drift": float(rms[-1] / rms[-window - 1] - 1) if len(rms) > window else None,
            "measured_tailoff": None if math.isnan(tail) else tail,
            "epochs_to_plateau": reached, "timescale_epochs": n / (eta * lmbda * steps),
            "decay_tailoff_to_measured": decay_epochs,
            "fixed_from_end": end.fixed_rms[l - 1], "plateau_from_end": end.plateau_rms[l - 1],
            "rounds_from_end": [r[l - 1] for r in end.rounds],
            "fixed_from_start": cold.fixed_rms[l - 1],
            "plateau_from_start": cold.plateau_rms[l - 1],
            "rounds_from_start": [r[l - 1] for r in cold.rounds],
            "evaluations_from_end": end.evaluations, "evaluations_from_start": cold.evaluations,
            "cpu_training": train_cpu, "cpu_from_end": end_cpu, "cpu_from_start": cold_cpu,
            "rotational_rms": math.sqrt(eta * n / (2 * lmbda))})
    return out


def miss(pred, meas):
    return 100 * (pred / meas - 1)


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="configuration names to run")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    names = args.only or list(CONFIGS)
    kwargs = {"epochs": 4, "rows": 300, "rounds": 1, "max_iter": (20, 20)} if small else {}
    if small:
        names = names[:1]
    rows = []
    if os.path.exists(args.out) and args.only:
        with open(args.out) as f:
            rows = [r for r in json.load(f) if r["config"] not in names]
    for name in names:
        for r in run(name, *CONFIGS[name], **kwargs):
            rows.append(r)
            print(f"{name} layer {r['layer']}: measured {r['measured_plateau']:.4f}; fixed point "
                  f"from the end {r['plateau_from_end']:.4f} "
                  f"({miss(r['plateau_from_end'], r['measured_plateau']):+.1f}%), from the start "
                  f"{r['plateau_from_start']:.4f} "
                  f"({miss(r['plateau_from_start'], r['measured_plateau']):+.1f}%); "
                  f"decay tail-off {r['decay_tailoff_to_measured']} vs {r['measured_tailoff']}; "
                  f"CPU s: training {r['cpu_training']:.1f}, from the end {r['cpu_from_end']:.1f},"
                  f" from the start {r['cpu_from_start']:.1f}", flush=True)
    order = {name: i for i, name in enumerate(CONFIGS)}
    rows.sort(key=lambda r: (order.get(r["config"], len(order)), r["layer"]))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, dumps(rows, indent=1).encode())
    return rows


if __name__ == "__main__":
    main()
