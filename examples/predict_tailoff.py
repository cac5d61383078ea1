"""Predict the plateau and the tail-off epoch before training, then train and compare.

For each configuration (lmbda, initialization, eta, mini-batch m) this
example calls :func:`wdecay.equilibrium.predict_tailoff` on the untrained
network, trains the book's [784, 30, 10] sigmoid network with Nielsen's L2 rule,
and measures per layer

* the plateau: the mean RMS over the last 30 epochs (``--window``);
* the tail-off epoch: the first epoch whose norm-budget ratio R reaches 0.5
  (``NormBudget``), the epoch at which decay stops dominating.

It trains long enough to see both (1.5 t* + 60 epochs, at least ``--epochs``)
and prints one row per configuration and layer, with the relative errors.
With the norm budget it also records, over the plateau window, the noise
share Q/(-D) of the balance (``NormBudget``) and kappa (``Balance``, on a
4,096-row subsample of larger data). Writes ``predict_tailoff.json``
(``predict_tailoff_fashion.json`` with ``--fashion``).

    python examples/predict_tailoff.py [--quick] [--out predict_tailoff]
    python examples/predict_tailoff.py --fashion   # Fashion-MNIST 50k, book's lmbda/n = 1e-4,
                                                   # 400 epochs (about 20 minutes)

Small settings for CI: WDECAY_EXAMPLE_SMALL=1 (one configuration, 300 rows, few epochs).
"""

import argparse
import math
import os

import numpy as np

import wdecay
from wdecay import monitors as M
from wdecay._files import atomic_write
from wdecay._json import dumps
from wdecay.equilibrium import predict_tailoff

INITS = {"N(0,1)": ("large", 1.0), "1/sqrt(n_in)": ("default", 1.0), "0.01 N(0,1)": ("large", 0.01)}

#: (lmbda, init, eta, m) on the 4,000-row sample
SAMPLE_CONFIGS = (
    [(lm, "N(0,1)", 0.1, 10) for lm in (2, 5, 10, 20, 40, 80, 200)]
    + [(lm, init, 0.1, 10) for lm in (5, 50) for init in ("1/sqrt(n_in)", "0.01 N(0,1)")]
    + [(50, "N(0,1)", 0.1, 10)]
    + [(lm, "N(0,1)", 0.025, 10) for lm in (20, 50)]
)


def make_network(init, seed=0):
    name, scale = INITS[init]
    net = wdecay.Network([784, 30, 10], initializer=name, seed=seed)
    for w in net.weights:
        w *= scale
    return net


def measure(X, y, lmbda, init, eta, m, window=30, min_epochs=60, max_epochs=None, seed=0,
            plateau_only=False, warm_start=0, noise=False, tol=1e-3, kappa=True):
    """Predict, then train and measure; one dict per layer.

    ``noise=False`` (this example's default) predicts the noise-free
    stationary point, the plateau of docs/exercise.rst's tables;
    ``examples/prediction_table.py`` checks the noise-balanced one.

    ``plateau_only`` trains with epoch-level monitors only (so the numba backend
    can run the epochs, when installed) and measures the plateau, not the
    tail-off epoch, which needs the per-step norm budget. ``kappa=False`` leaves out
    ``Balance`` (a full-data backprop per epoch; ``kappa_plateau`` is then NaN): the
    other columns do not depend on it.
    """
    reg = wdecay.L2(lmbda)
    net = make_network(init, seed)
    pred = predict_tailoff(net, X, y, eta=eta, batch_size=m, regularizer=reg,
                           warm_start_epochs=warm_start, seed=seed, noise=noise, tol=tol,
                           progress=False)
    # with a warm start, also the solve from the initial weights, for comparison
    cold = (predict_tailoff(net, X, y, eta=eta, batch_size=m, regularizer=reg,
                            warm_start_epochs=0, noise=noise, tol=tol, progress=False)
            if warm_start else pred)
    longest = max((p.tailoff_epoch or 0.0) for p in pred)
    epochs = max(min_epochs, int(math.ceil(1.5 * longest)) + 2 * window)
    if max_epochs is not None:
        epochs = min(epochs, max_epochs)
    monitors = [M.WeightNorms()] if plateau_only else [M.WeightNorms(), M.NormBudget()]
    if kappa and not plateau_only:
        monitors.append(M.Balance())
    h = net.fit(X, y, epochs=epochs, batch_size=m, eta=eta, regularizer=reg,
                monitors=monitors, seed=seed)
    rows = []
    for p in pred:
        rms = np.asarray(h[f"layer{p.layer}/rms"])
        plateau = float(np.mean(rms[-window:]))
        tail = math.nan if plateau_only else float(h[f"layer{p.layer}/tailoff_epoch"][-1])

        def window_mean(key):  # over the plateau window; NaN without the norm budget
            return math.nan if plateau_only else float(
                np.mean(np.asarray(h[f"layer{p.layer}/{key}"])[-window:]))

        rows.append({
            "lmbda": lmbda, "n": len(X), "init": init, "eta": eta, "batch_size": m,
            "warm_start_epochs": warm_start, "objective": pred.stationary.objective,
            "cold_objective": cold.stationary.objective,
            "cold_stationary_rms": cold[p.layer].stationary_rms,
            "epochs": epochs, "layer": p.layer, "rms_initial": p.rms_initial,
            "kappa_initial": p.kappa_initial, "kappa_stationary": p.kappa_plateau,
            "predicted_plateau": p.plateau_rms, "measured_plateau": plateau,
            "plateau_error": (plateau / p.plateau_rms - 1) if p.plateau_rms else math.nan,
            "stationary_rms": p.stationary_rms, "noise_share": p.noise_share,
            "stationary_error": plateau / p.stationary_rms - 1,
            "predicted_tailoff": p.tailoff_epoch, "measured_tailoff": tail,
            "R_final": math.nan if plateau_only else float(h[f"layer{p.layer}/R"][-1]),
            "Q_ratio_plateau": window_mean("Q_ratio"),
            "kappa_plateau": window_mean("kappa") if kappa else math.nan,
            "rms_curve": rms.tolist(),
            "reason": p.reason, "grad_norm": pred.stationary.grad_norm,
        })
    return rows


def fmt(x, spec):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def print_table(rows):
    print(f"{'n':>5} {'lmbda':>5} {'init':>12} {'eta':>5} {'m':>3} {'ep':>4} {'lay':>3} "
          f"{'plateau pred':>12} {'meas':>7} {'err':>6} {'t* pred':>7} {'meas':>5}  reason")
    for r in rows:
        print(f"{r['n']:>5} {r['lmbda']:>5g} {r['init']:>12} {r['eta']:>5g} {r['batch_size']:>3} "
              f"{r['epochs']:>4} {r['layer']:>3} {fmt(r['predicted_plateau'], '.4f'):>12} "
              f"{r['measured_plateau']:>7.4f} {fmt(100 * r['plateau_error'], '+.1f'):>5}% "
              f"{fmt(r['predicted_tailoff'], '.1f'):>7} {fmt(r['measured_tailoff'], 'g'):>5}  "
              f"{r['reason']}", flush=True)


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion", action="store_true",
                        help="Fashion-MNIST 50k at lmbda/n = 1e-4 (lmbda 5), eta 0.1, m 10")
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--plateau-only", action="store_true",
                        help="measure the plateau only (epoch-level monitors: the numba backend "
                             "can train, much faster on large data)")
    parser.add_argument("--only", type=int, nargs="+", help="indices into SAMPLE_CONFIGS to run")
    parser.add_argument("--warm-start", type=int, default=0, metavar="EPOCHS",
                        help="solve for the stationary point after this many epochs of SGD "
                             "(writes predict_tailoff_warm<EPOCHS>.json); 0, this example's "
                             "default, solves from the initial weights (the docs' first table; "
                             "predict_tailoff's own default is 2)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train at least this many epochs (default 60; 400 with --fashion)")
    parser.add_argument("--out", default="predict_tailoff")
    args = parser.parse_args(argv)
    if args.fashion:
        from wdecay.datasets import load_fashion_mnist

        (X, y), _, _ = load_fashion_mnist()
        X, y = X[:50000], y[:50000]
        configs, kwargs = [(5.0, "N(0,1)", 0.1, 10)], {"min_epochs": 400}
        name = "predict_tailoff_fashion.json"
    else:
        from wdecay.datasets import load_mnist_sample

        (X, y), _, _ = load_mnist_sample()
        configs, kwargs = SAMPLE_CONFIGS, {}
        name = "predict_tailoff.json"
        if args.only:
            configs = [SAMPLE_CONFIGS[i] for i in args.only]
        if small:
            X, y = X[:300], y[:300]
            configs, kwargs = [(20.0, "N(0,1)", 0.1, 10)], {"min_epochs": 6, "max_epochs": 6}
            args.window = 3
    if args.epochs is not None:
        kwargs["min_epochs"] = args.epochs
    if args.warm_start:
        kwargs["warm_start"] = args.warm_start
        name = name.replace(".json", f"_warm{args.warm_start}.json")
    rows = []
    for lmbda, init, eta, m in configs:
        new = measure(X, y, lmbda, init, eta, m, window=args.window,
                      plateau_only=args.plateau_only, **kwargs)
        print_table(new)
        rows += new
    os.makedirs(args.out, exist_ok=True)
    atomic_write(os.path.join(args.out, name), dumps(rows, indent=1).encode())
    return rows


if __name__ == "__main__":
    main()
