"""Where SGD's noise holds the norm: which noise model predicts the plateau, measured.

For the noisy rows of the prediction table (examples/prediction_table.py) this
solves the noise-free stationary point (:func:`wdecay.equilibrium.predict_tailoff`
with ``noise=False``) and compares, per layer, against the measured plateau
stored in ``docs/figures/prediction_table.json``:

* ``diag``: sqrt(stationary^2 + spread) with the spread per weight,
  mean_i eta N_i / (2 (r + F_i)) (N_i the weight's mini-batch noise, F_i the
  Fisher's diagonal), the model before this script;
* ``shift``: the stationary point moved by SGD's modified objective
  (:func:`wdecay.equilibrium._noise_scales`, one factor per layer);
* ``shift_diag``: the per-weight spread around the moved point added;
* ``shift_spread``: the Kronecker-factored spread around the moved point
  added (:func:`wdecay.equilibrium._noise_spread`), what ``predict_tailoff``
  gives from ``NOISE_SHIFT_SHARE`` on.

``--snapshots`` also trains the sample rows and splits the measured plateau's
mean square into the mean weights' (the point SGD hovers around) and the
fluctuations' (from one snapshot per epoch after the tail-off). ``--toy`` runs
a 5-input, 120-row problem over eta and m, where the model misses.
Writes ``docs/figures/noise_shift.json`` (``--out``).

    python examples/noise_shift.py [--fashion50k] [--snapshots] [--toy] [--out FILE]

``--fashion50k`` adds Fashion-MNIST 50k at the book's lmbda/n (a few minutes).
"""

import argparse
import json
import math
import os

import numpy as np

import wdecay
from wdecay._files import atomic_write
from wdecay._json import dumps
from wdecay.equilibrium import _noise_scales, _noise_spread, predict_tailoff
from wdecay.monitors.base import Monitor

import prediction_table as T

ROWS = ["seed (lmbda 5)", "batch 1, lmbda 10", "tanh, lmbda 10", "ReLU, lmbda 10",
        "3 weight layers, lmbda 10", "Fashion 4,000 rows", "L1, lmbda 5"]


def diagonal_spread(network, X, y, m, eta, rate):
    """Per layer, mean_i eta N_i / (2 (r + F_i)): the per-weight spread (F's diagonal)."""
    from wdecay.adaptive_equilibrium import element_moments

    n = len(X)
    out = []
    for g, sq in element_moments(network, X, y, m):
        noise = sq - g * g
        fisher = noise * (m * (n - 1) / (n - m)) if n > m else noise
        out.append(float(np.mean(eta * noise / (2.0 * (rate + g * g + fisher)))))
    return out


def moved(network, scale):
    out = network.copy()
    out.weights = [w * f for w, f in zip(network.weights, scale)]
    out.biases = [b * f for b, f in zip(network.biases, scale)]
    return out


def models(name, settings, measured):
    """The three models' plateaus against the stored measurement, one dict per layer."""
    s = {**T.DEFAULTS, **settings}
    X, y = T.load(s["data"])
    reg = wdecay.L1(s["lmbda"]) if s["regularizer"] == "l1" else wdecay.L2(s["lmbda"])
    net = wdecay.Network(s["sizes"], activation=s["activation"], initializer="large", seed=0)
    pred = predict_tailoff(net, X, y, eta=s["eta"], batch_size=s["m"], regularizer=reg,
                           max_iter=s["max_iter"], progress=False, noise=False)
    point, rate = pred.stationary.network, s["lmbda"] / len(X)
    scale = _noise_scales(point, X, y, s["m"], s["eta"], reg)
    before = diagonal_spread(point, X, y, s["m"], s["eta"], rate)
    there = moved(point, scale)
    diag = diagonal_spread(there, X, y, s["m"], s["eta"], rate)
    after = _noise_spread(there, X, y, s["m"], s["eta"], rate)
    rows = []
    for p, f, a, b, c in zip(pred, scale, before, after, diag):
        meas = measured[(name, p.layer)]
        row = {"config": name, "layer": p.layer, "noise_share": p.noise_share,
               "stationary": p.stationary_rms, "diag": math.sqrt(p.stationary_rms ** 2 + a),
               "shift": f * p.stationary_rms,
               "shift_diag": math.sqrt((f * p.stationary_rms) ** 2 + c),
               "shift_spread": math.sqrt((f * p.stationary_rms) ** 2 + b),
               "measured": meas}
        row.update({f"{k}_error": row[k] / meas - 1
                    for k in ("stationary", "diag", "shift", "shift_diag", "shift_spread")})
        rows.append(row)
    return rows


def snapshots(name, settings, burn, epochs):
    """Train; per layer the plateau's RMS, the RMS of the mean weights and the variance."""
    s = {**T.DEFAULTS, **settings}
    X, y = T.load(s["data"])
    net = wdecay.Network(s["sizes"], activation=s["activation"], initializer="large", seed=0)
    kept = []

    class Snap(Monitor):
        def on_epoch_end(self, state):
            if state.epoch > burn:
                kept.append([np.array(w) for w in state.weights])

    net.fit(X, y, epochs=epochs, batch_size=s["m"], eta=s["eta"], regularizer=wdecay.L2(s["lmbda"]),
            monitors=[Snap()], seed=0)
    out = []
    for layer in range(len(kept[0])):
        stack = np.array([k[layer] for k in kept])
        total, mean = float(np.mean(stack ** 2)), float(np.mean(stack.mean(0) ** 2))
        out.append({"config": name, "layer": layer + 1, "epochs": [burn + 1, epochs],
                    "rms": math.sqrt(total), "rms_of_mean": math.sqrt(mean),
                    "variance": total - mean})
    return out


def toy():
    """A 5-input, 120-row problem: predicted against trained, over eta and m (lmbda 2)."""
    rng = np.random.default_rng(0)
    X = rng.random((120, 5))
    y = (X[:, 0] + 0.3 * rng.standard_normal(120) > X[:, 1]).astype(int)
    reg, out = wdecay.L2(2.0), []
    for eta in (0.1, 0.3, 1.0):
        for m in (2, 10):
            net = wdecay.Network([5, 4, 2], initializer="large", seed=1)
            pred = predict_tailoff(net, X, y, eta=eta, batch_size=m, regularizer=reg, tol=1e-4,
                                   progress=False)
            epochs = int(round(600 / eta))
            h = net.fit(X, y, epochs=epochs, batch_size=m, eta=eta, regularizer=reg,
                        monitors=[wdecay.monitors.WeightNorms()], seed=0)
            point = pred.stationary.network  # the move applied whatever the share
            scale = _noise_scales(point, X, y, m, eta, reg)
            spread = _noise_spread(moved(point, scale), X, y, m, eta, 2.0 / len(X))
            for p, f, a in zip(pred, scale, spread):
                out.append({"config": f"toy [5, 4, 2], 120 rows, eta {eta:g}, m {m}, lmbda 2",
                            "always_shifted": math.sqrt((f * p.stationary_rms) ** 2 + a),
                            "eta": eta, "m": m, "layer": p.layer, "noise_share": p.noise_share,
                            "stationary": p.stationary_rms, "predicted": p.plateau_rms,
                            "noise_scale": p.noise_scale, "measured": float(
                                np.mean(h[f"layer{p.layer}/rms"][-epochs // 2:]))})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion50k", action="store_true")
    parser.add_argument("--snapshots", action="store_true")
    parser.add_argument("--toy", action="store_true")
    parser.add_argument("--out", default=os.path.join(T.DOCS, "figures", "noise_shift.json"))
    args = parser.parse_args(argv)
    with open(os.path.join(T.DOCS, "figures", "prediction_table.json")) as f:
        measured = {(r["config"], r["layer"]): r["measured_plateau"] for r in json.load(f)}
    names = ROWS + (["Fashion 50k, book's lmbda/n"] if args.fashion50k else [])
    result = {"models": [], "snapshots": [], "toy": []}
    if os.path.exists(args.out):  # keep the parts not run this time
        with open(args.out) as f:
            result.update(json.load(f))
    result["models"] = [r for r in result["models"] if r["config"] not in names]
    for name in names:
        for r in models(name, T.CONFIGS[name], measured):
            print(f"{name:<28} layer {r['layer']}: share {r['noise_share']:.2f}, measured "
                  f"{r['measured']:.4f}; stationary {100 * r['stationary_error']:+.1f}%, diag "
                  f"{100 * r['diag_error']:+.1f}%, shift {100 * r['shift_error']:+.1f}%, "
                  f"shift+diag {100 * r['shift_diag_error']:+.1f}%, shift+spread "
                  f"{100 * r['shift_spread_error']:+.1f}%", flush=True)
            result["models"].append(r)
    if args.snapshots:
        result["snapshots"] = []
        for name, burn, epochs in (("batch 1, lmbda 10", 10, 40), ("tanh, lmbda 10", 40, 100)):
            for r in snapshots(name, T.CONFIGS[name], burn, epochs):
                print(f"{name:<28} layer {r['layer']}: RMS {r['rms']:.4f}, mean weights' RMS "
                      f"{r['rms_of_mean']:.4f}, variance {r['variance']:.3g}", flush=True)
                result["snapshots"].append(r)
    if args.toy:
        result["toy"] = toy()
        for r in result["toy"]:
            print(f"{r['config']} layer {r['layer']}: share {r['noise_share']:.2f}, predicted "
                  f"{r['predicted']:.4f}, measured {r['measured']:.4f} "
                  f"({100 * (r['predicted'] / r['measured'] - 1):+.1f}%), moved whatever the "
                  f"share {100 * (r['always_shifted'] / r['measured'] - 1):+.1f}%", flush=True)
    order = {n: i for i, n in enumerate(T.CONFIGS)}
    result["models"].sort(key=lambda r: (order.get(r["config"], len(order)), r["layer"]))
    atomic_write(args.out, dumps(result, indent=1).encode())
    return result


if __name__ == "__main__":
    main()
