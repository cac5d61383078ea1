"""Predicted against measured plateau and tail-off epoch, one row per configuration and layer.

For each configuration (activation, regularizer, lmbda, optimizer, eta,
mini-batch m, sizes, data: the embedded 4,000-digit MNIST sample unless it
says Fashion-MNIST), N(0, 1) weights, this calls :func:`wdecay.equilibrium.predict_tailoff` with the run's
optimizer, trains, and measures per layer

* the plateau: the mean RMS over the last ``WINDOW`` epochs;
* the tail-off epoch: the first epoch whose norm-budget ratio R reaches 0.5
  (``NormBudget``).

A row gives both, the relative plateau error, the tail-off miss, and the
prediction's reason where it gives no number. Writes
``docs/figures/prediction_table.json`` (``--out``); ``docs/predictions.rst``
is rendered from it (``--rst``), and ``tests/test_docs_predictions.py`` checks
that the page matches the file.

    python examples/prediction_table.py [--only NAME ...] [--reuse-measured] [--merge JSON ...]
        [--out FILE] [--rst FILE]

``--only`` runs the named configurations and keeps the file's other rows;
``--reuse-measured`` predicts again and keeps the stored measured columns
(no training: after a change of the solver);
``--merge`` takes the rows of earlier ``--out`` files (made by this script, for
example on another machine) in place of running them.

Small settings for CI: WDECAY_EXAMPLE_SMALL=1 (one configuration, 300 rows, few epochs).
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
from wdecay.equilibrium import predict_tailoff
from wdecay.optim import get_optimizer

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")
WINDOW = 30
#: A run whose RMS still moves by more than this over the last WINDOW epochs has
#: not reached its plateau: its mean there is no measurement of it.
UNSETTLED = 0.01

#: name -> settings; anything not given is the seed question's: sigmoid, L2,
#: [784, 30, 10], SGD, eta 0.1, m 10, lmbda 5.
CONFIGS = {
    "seed (lmbda 5)": {},
    "lmbda 10": {"lmbda": 10.0},
    "batch 1, lmbda 10": {"lmbda": 10.0, "m": 1, "epochs": 40},
    "batch 50, lmbda 10": {"lmbda": 10.0, "m": 50},
    "tanh, lmbda 10": {"activation": "tanh", "lmbda": 10.0},
    "ReLU, lmbda 10": {"activation": "relu", "lmbda": 10.0},
    "3 weight layers, lmbda 10": {"lmbda": 10.0, "sizes": [784, 30, 30, 10]},
    "momentum 0.9, eta 0.01, lmbda 10": {"lmbda": 10.0, "eta": 0.01, "optimizer": "momentum"},
    "Nesterov 0.9, eta 0.01, lmbda 10": {"lmbda": 10.0, "eta": 0.01, "optimizer": "nesterov"},
    "L1, lmbda 5": {"regularizer": "l1", "max_iter": 4000},  # FISTA is first-order
    "L1, lmbda 5, batch 50": {"regularizer": "l1", "m": 50, "max_iter": 4000},
    "Fashion 4,000 rows": {"data": "fashion4k"},
    "Fashion 50k, book's lmbda/n": {"data": "fashion50k"},
    "Adam, eta 0.001, lmbda 10": {"lmbda": 10.0, "eta": 0.001, "optimizer": "adam"},
    "Adam, eta 0.001, lmbda 5, batch 50": {"eta": 0.001, "optimizer": "adam", "m": 50},
    # AdamW and Lion get no plateau: trained anyway (timescale 1/(eta lmbda/n) = 10
    # epochs) to measure the rotational estimate's miss and G/(-D) at the plateau
    "AdamW, eta 0.001, lmbda 1000": {"lmbda": 1000.0, "eta": 0.001, "optimizer": "adamw",
                                     "epochs": 150, "measure": True},
    "AdamW, eta 0.01, lmbda 100": {"lmbda": 100.0, "eta": 0.01, "optimizer": "adamw",
                                   "epochs": 150, "measure": True},
    "AdamW, eta 0.001, lmbda 10": {"lmbda": 10.0, "eta": 0.001, "optimizer": "adamw"},
    "Lion, eta 0.0001, lmbda 10000": {"lmbda": 10000.0, "eta": 0.0001, "optimizer": "lion",
                                      "epochs": 150, "measure": True},
}

DEFAULTS = {"activation": "sigmoid", "regularizer": "l2", "lmbda": 5.0, "optimizer": "sgd",
            "eta": 0.1, "m": 10, "sizes": [784, 30, 10], "epochs": None, "data": "sample",
            "max_iter": 1000, "measure": False}

#: Fashion-MNIST's 50k run at the book's lmbda/n takes 400 epochs (about 20 minutes):
#: its measured plateau and tail-off are read from the run that
#: ``examples/predict_tailoff.py --fashion`` stored (same network, seed, eta and m).
FASHION_RUN = os.path.join(DOCS, "figures", "predict_tailoff_fashion.json")


def load(data):
    """The training rows of a configuration's data set."""
    if data == "sample":
        from wdecay.datasets import load_mnist_sample

        (X, y), _, _ = load_mnist_sample()
        return X, y
    from wdecay.datasets import load_fashion_mnist

    (X, y), _, _ = load_fashion_mnist()
    rows = {"fashion4k": 4000, "fashion50k": 50000}[data]
    return X[:rows], y[:rows]


#: The measured fields ``--reuse-measured`` copies from the stored rows.
MEASURED = ("epochs", "measured_plateau", "measured_tailoff", "measured_drift",
            "measured_G_ratio", "measured_by")


def run(name, settings, seed=0, max_epochs=None, train=True, rows=None, measured=None,
        prediction=None):
    """Predict, then (if there is a point to check) train and measure; one dict per layer.

    ``measured`` (layer -> stored row) takes the measurement from an earlier
    run instead of training again: the run is seeded and does not depend on the
    prediction, so only the prediction is redone. ``prediction`` is the
    :func:`~wdecay.equilibrium.predict_tailoff` result of the same settings made
    earlier (the tests share the seed row's); its ``prediction_seconds`` is then None.
    """
    s = {**DEFAULTS, **settings}
    X, y = load(s["data"])
    if rows is not None:
        X, y = X[:rows], y[:rows]
    reg = wdecay.L1(s["lmbda"]) if s["regularizer"] == "l1" else wdecay.L2(s["lmbda"])
    net = wdecay.Network(s["sizes"], activation=s["activation"], initializer="large",
                         seed=seed)
    opt = get_optimizer(s["optimizer"])
    began = time.perf_counter()
    pred = prediction
    if pred is None:
        pred = predict_tailoff(net, X, y, eta=s["eta"], batch_size=s["m"], regularizer=reg,
                               optimizer=opt, max_iter=s["max_iter"], progress=False)
    seconds = time.perf_counter() - began if prediction is None else None
    solved = [p.stationary_rms for p in pred if p.stationary_rms is not None]
    longest = max((p.tailoff_epoch or 0.0) for p in pred)
    epochs = s["epochs"] or max(80, math.ceil(1.5 * longest) + 2 * WINDOW)
    if max_epochs is not None:
        epochs = min(epochs, max_epochs)
    h = None
    stored = None
    if s["data"] == "fashion50k":
        with open(FASHION_RUN) as f:
            stored = {r["layer"]: r for r in json.load(f)}
    elif (solved or s["measure"]) and train and measured is None:  # check the number, or the reason for none
        h = net.fit(X, y, epochs=epochs, batch_size=s["m"], eta=s["eta"], regularizer=reg,
                    optimizer=get_optimizer(s["optimizer"]),
                    monitors=[M.WeightNorms(), M.NormBudget()], seed=seed)
    spread = [None] * len(pred)
    if (s["regularizer"] == "l2" and pred.stationary is not None
            and any(p.reason.startswith("noise-dominated") for p in pred)):
        # what the noise model would give beyond its limit: the refusal's measurement
        from wdecay.equilibrium import _noise_scales, _noise_spread

        point, rate = pred.stationary.network, s["lmbda"] / len(X)
        scale = _noise_scales(point, X, y, s["m"], pred.effective_eta, reg)
        moved = point.copy()
        moved.weights = [w * f for w, f in zip(point.weights, scale)]
        moved.biases = [b * f for b, f in zip(point.biases, scale)]
        add = _noise_spread(moved, X, y, s["m"], pred.effective_eta, rate)
        spread = [math.sqrt((f * p.stationary_rms) ** 2 + a)
                  for p, f, a in zip(pred, scale, add)]
    rows = []
    for p in pred:
        row = {"config": name, **{k: s[k] for k in DEFAULTS if k not in ("epochs", "measure")},
               "n": len(X), "epochs": epochs if h else 0, "layer": p.layer,
               "predicted_plateau": p.plateau_rms, "stationary_rms": p.stationary_rms,
               "predicted_tailoff": p.tailoff_epoch, "reason": p.reason,
               "converged": p.converged, "residual": p.residual,
               "kappa_initial": p.kappa_initial, "kappa_epoch1": p.kappa_epoch1,
               "noise_share": p.noise_share, "noise_spread": p.noise_spread,
               "prediction_seconds": seconds, "rotational_rms": p.rotational_rms,
               "measured_G_ratio": None, "measured_drift": None,
               "spread_beyond_limit": spread[p.layer - 1],
               "measured_plateau": None, "measured_tailoff": None}
        if stored is not None:
            row["epochs"] = stored[p.layer]["epochs"]
            row["measured_plateau"] = stored[p.layer]["measured_plateau"]
            row["measured_tailoff"] = stored[p.layer]["measured_tailoff"]
            row["measured_by"] = "examples/predict_tailoff.py --fashion (stored)"
        if measured is not None and p.layer in measured:
            row.update({k: measured[p.layer][k] for k in MEASURED if k in measured[p.layer]})
        if h is not None:
            rms = np.asarray(h[f"layer{p.layer}/rms"])
            row["measured_plateau"] = float(np.mean(rms[-WINDOW:]))
            # still moving at the end? the relative change over the last window
            row["measured_drift"] = float(rms[-1] / rms[-WINDOW - 1] - 1) if len(rms) > WINDOW else None
            tail = float(h[f"layer{p.layer}/tailoff_epoch"][-1])
            row["measured_tailoff"] = None if math.isnan(tail) else tail
            ratio = np.asarray(h[f"layer{p.layer}/G_ratio"], dtype=float)[-WINDOW:]
            ratio = ratio[~np.isnan(ratio)]  # epoch 0 has none
            row["measured_G_ratio"] = float(np.mean(ratio)) if ratio.size else None
        rows.append(row)
    return rows


def fmt(x, spec):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def verdict(r):
    """The row's check: plateau within 10%, tail-off within 15% or 1 epoch; or the reason."""
    if r["predicted_plateau"] is None:
        out = "no number: " + r["reason"]
        if r.get("rotational_rms") is not None and r["measured_plateau"] is not None:
            miss = 100 * (r["measured_plateau"] / r["rotational_rms"] - 1)
            out += (f"; measured: the plateau lies {miss:+.0f}% off the rotational estimate, "
                    f"G/(-D) = {r['measured_G_ratio']:.2f} over the last {WINDOW} epochs")
        return out
    out = []
    err = r["measured_plateau"] / r["predicted_plateau"] - 1
    drift = r.get("measured_drift")
    if abs(err) <= 0.10:
        out.append("plateau within 10%")
    elif drift is not None and abs(drift) > UNSETTLED:
        out.append(f"not settled: the measured RMS still moved {100 * drift:+.1f}% over the "
                   f"last {WINDOW} epochs (the run's end is no plateau)")
    else:
        out.append("plateau MISSES 10%")
    if r["predicted_tailoff"] is not None:
        meas = r["measured_tailoff"]
        ok = meas is not None and (abs(meas - r["predicted_tailoff"]) <= 1
                                   or abs(meas / r["predicted_tailoff"] - 1) <= 0.15)
        out.append("tail-off within 15% or 1 epoch" if ok else "tail-off MISSES")
    elif r["reason"]:
        out.append("no tail-off epoch: " + r["reason"])
    return "; ".join(out)


def table_lines(rows):
    """The rows as an RST list-table (also what ``tests/test_docs_predictions.py`` checks)."""
    lines = [".. list-table::", "   :header-rows: 1", "",
             "   * - configuration", "     - layer", "     - plateau predicted",
             "     - measured", "     - error", "     - tail-off predicted", "     - measured",
             "     - prediction (s)", "     - verdict"]
    for r in rows:
        err = (None if r["predicted_plateau"] is None
               else 100 * (r["measured_plateau"] / r["predicted_plateau"] - 1))
        plateau = (fmt(r["predicted_plateau"], ".4f") if r["predicted_plateau"] is not None
                   else f"- (stationary {fmt(r['stationary_rms'], '.4f')}; noise model "
                        f"{fmt(r['spread_beyond_limit'], '.4f')})"
                   if r.get("spread_beyond_limit") is not None
                   else f"- (stationary {fmt(r['stationary_rms'], '.4f')})"
                   if r["stationary_rms"] is not None
                   else f"- (rotational {fmt(r['rotational_rms'], '.4f')})"
                   if r.get("rotational_rms") is not None else "-")
        cells = [r["config"], str(r["layer"]), plateau,
                 fmt(r["measured_plateau"], ".4f"), fmt(err, "+.1f") + ("%" if err is not None
                                                                       else ""),
                 fmt(r["predicted_tailoff"], ".1f"), fmt(r["measured_tailoff"], "g"),
                 fmt(r["prediction_seconds"], ".1f"), verdict(r)]
        lines.append("   * - " + cells[0])
        lines += ["     - " + c for c in cells[1:]]
    return lines


def render(rows, template):
    """``template`` with the lines between the TABLE markers replaced by :func:`table_lines`."""
    begin, end = ".. BEGIN TABLE", ".. END TABLE"
    head, rest = template.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n\n" + "\n".join(table_lines(rows)) + "\n\n" + end + tail


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="configuration names to run")
    parser.add_argument("--out", default=os.path.join(DOCS, "figures", "prediction_table.json"))
    parser.add_argument("--rst", default=None, help="render this page from the JSON "
                        "(docs/predictions.rst)")
    parser.add_argument("--merge", nargs="+", default=(), metavar="JSON",
                        help="take the rows of these earlier --out files (their configurations "
                        "only) instead of running them")
    parser.add_argument("--reuse-measured", action="store_true",
                        help="predict again but take the measured columns from the stored "
                        "rows of --out (no training)")
    args = parser.parse_args(argv)
    merged = []
    for path in args.merge:
        with open(path) as f:
            merged += json.load(f)
    names = [n for n in (args.only or ([] if merged else list(CONFIGS)))
             if n not in {r["config"] for r in merged}]
    kwargs = {}
    if small:
        names, kwargs = names[:1], {"max_epochs": 4, "rows": 300}
    rows, stored = [], {}
    if args.reuse_measured:
        with open(args.out) as f:
            for r in json.load(f):
                stored.setdefault(r["config"], {})[r["layer"]] = r
    if os.path.exists(args.out) and (args.only or merged):  # replace only these configurations
        replaced = set(names) | {r["config"] for r in merged}
        with open(args.out) as f:
            rows = [r for r in json.load(f) if r["config"] not in replaced]
    rows += merged
    for name in names:
        new = run(name, CONFIGS[name], measured=stored.get(name), **kwargs)
        for r in new:
            print(f"{name:<34} layer {r['layer']}: {fmt(r['predicted_plateau'], '.4f')} -> "
                  f"{fmt(r['measured_plateau'], '.4f')}, t* {fmt(r['predicted_tailoff'], '.1f')}"
                  f" -> {fmt(r['measured_tailoff'], 'g')} ({r['prediction_seconds']:.1f} s): "
                  f"{verdict(r)}", flush=True)
        rows += new
    order = {name: i for i, name in enumerate(CONFIGS)}
    rows.sort(key=lambda r: (order.get(r["config"], len(order)), r["layer"]))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    atomic_write(args.out, dumps(rows, indent=1).encode())
    if args.rst:
        with open(args.rst) as f:
            page = render(rows, f.read())
        atomic_write(args.rst, page.encode())
    return rows


if __name__ == "__main__":
    main()
