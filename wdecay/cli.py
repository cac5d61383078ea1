"""Command line: ``wdecay experiment`` and ``wdecay path``.

``wdecay experiment`` trains the book's weight-decay experiment (defaults:
sizes 784,30,10, large initializer, cross-entropy, L2 lmbda=5, eta=0.1,
mini-batch 10, 30 epochs, seed 0, the embedded MNIST sample) with every
diagnostic on, and says what decay did. ``wdecay path`` solves the convex
case exactly along a grid of lmbda.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import experiment as E
from .report import write_html, write_run


def _sizes(text):
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be integers separated by commas, got {text!r}")


def _common(parser):
    parser.add_argument("--dataset", nargs="+", default=["mnist-sample"], metavar="NAME [PATH]",
                        help="mnist-sample (default), 'mnist PATH' (mnist.pkl.gz or IDX folder) "
                             "or 'fashion-mnist [PATH]'")
    parser.add_argument("--out", default=None, help="folder for the files and plots")
    parser.add_argument("--no-plot", action="store_true", help="write no PNG plots")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def build_parser():
    parser = argparse.ArgumentParser(prog="wdecay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("experiment", help="train a network and report what weight decay did")
    _common(exp)
    d = E.DEFAULTS
    exp.add_argument("--sizes", type=_sizes, default=d["sizes"])
    exp.add_argument("--init", default=d["init"], help="large (default) or default")
    exp.add_argument("--cost", default=d["cost"])
    exp.add_argument("--activation", default=d["activation"])
    exp.add_argument("--regularizer", default=d["regularizer"], help="l2 (default), l1 or none")
    exp.add_argument("--lmbda", type=float, nargs="+", default=[d["lmbda"]],
                     help="one value, or several to compare")
    exp.add_argument("--eta", type=float, default=d["eta"])
    exp.add_argument("--batch-size", type=int, default=d["batch_size"])
    exp.add_argument("--epochs", type=int, default=d["epochs"])
    exp.add_argument("--seed", "--seeds", dest="seed", type=int, nargs="+", default=[d["seed"]],
                     help="one seed, or several to compare (each run seeds weights and order)")
    path = sub.add_parser("path", help="exact convex optima along a grid of lmbda")
    _common(path)
    path.add_argument("--digits", type=int, nargs=2, default=[3, 8], metavar=("A", "B"),
                      help="a binary task: digit A against digit B (default 3 8)")
    path.add_argument("--multiclass", action="store_true", help="all ten digits, softmax")
    path.add_argument("--penalty", choices=["l2", "l1"], default="l2")
    path.add_argument("--n-lmbdas", type=int, default=20)
    path.add_argument("--lmbdas", type=float, nargs="+", default=None)
    return parser


def load_dataset(spec):
    """Return DataSplits for a ``--dataset`` value (a list of words)."""
    from . import datasets

    name, rest = spec[0], spec[1:]
    if name == "mnist-sample":
        return datasets.load_mnist_sample()
    if name == "mnist":
        if not rest:
            raise ValueError("--dataset mnist needs a PATH (mnist.pkl.gz or an IDX folder)")
        return datasets.load_mnist(rest[0])
    if name == "fashion-mnist":
        return datasets.load_fashion_mnist(rest[0] if rest else None)
    raise ValueError(f"unknown dataset {name!r}; choose mnist-sample, mnist PATH or "
                     "fashion-mnist [PATH]")


def _plots_available(args):
    if args.no_plot:
        return False
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print('wdecay: no plots: matplotlib is missing (pip install "wdecay[plot]")',
              file=sys.stderr)
        return False
    return True


def experiment(args, stream=None):
    stream = sys.stdout if stream is None else stream
    splits = load_dataset(args.dataset)
    plots = args.out is not None and _plots_available(args)
    runs, summaries = [], []
    # Each run keeps the per-step NormBudget, which lockstep training (wdecay.sweep)
    # does not support, so the runs of a comparison train one after another.
    combos = [(lmbda, seed) for lmbda in args.lmbda for seed in args.seed]
    for lmbda, seed in combos:
        settings = {k: getattr(args, k) for k in
                    ("sizes", "init", "cost", "activation", "regularizer", "eta", "batch_size",
                     "epochs")}
        settings.update(lmbda=lmbda, seed=seed, dataset=" ".join(args.dataset))
        title = f"lmbda={lmbda:g}" + (f", seed={seed}" if len(args.seed) > 1 else "")
        folder = None
        if args.out:
            name = f"lmbda={lmbda:g}" + (f"_seed={seed}" if len(args.seed) > 1 else "")
            folder = args.out if len(combos) == 1 else os.path.join(args.out, name)
            os.makedirs(folder, exist_ok=True)
            history_csv = os.path.join(folder, "history.csv")
            if os.path.exists(history_csv):
                os.unlink(history_csv)  # a new run, not a continuation
        if len(combos) > 1 and not args.quiet and args.format == "table":
            print(f"\n== {title} ==", file=stream)
        net, history, summary = E.run(
            splits, settings, table=not args.quiet and args.format == "table",
            history_path=folder and os.path.join(folder, "history.csv"), stream=stream)
        text = E.summary_text(summary)
        plot_paths = write_run(folder, net, history, summary, plots) if folder else {}
        runs.append((title, text, plot_paths, history))
        summaries.append(summary)
        if args.format == "table":
            print("\n" + text, file=stream)
    if args.out:
        overlays = {}
        if plots and len(runs) > 1:
            from . import plot

            histories = {title: h for title, _, _, h in runs}
            for key in ("layer1/rms", f"layer{len(args.sizes) - 1}/rms"):
                name = f"overlay_{key.replace('/', '_')}"
                overlays[name] = os.path.join(args.out, f"{name}.png")
                plot.overlay(histories, key, path=overlays[name])
        write_html(os.path.join(args.out, "report.html"), runs, overlays)
    if args.format == "json":
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=1), file=stream)
    return summaries


def path(args, stream=None):
    import numpy as np

    from .convex import regularization_path

    stream = sys.stdout if stream is None else stream
    (X, y), (Xv, yv), _ = load_dataset(args.dataset)
    if args.multiclass:
        model, Y, Yv = "softmax", y, yv
    else:
        a, b = args.digits
        keep, keep_v = np.isin(y, (a, b)), np.isin(yv, (a, b))
        if not keep.any():
            raise ValueError(f"no training examples of digits {a} and {b}")
        X, Xv = X[keep], Xv[keep_v]
        Y = (y[keep] == b).astype(float)[:, None]
        Yv = (yv[keep_v] == b).astype(float)[:, None]
        model = "logistic"
    result = regularization_path(X, Y, lmbdas=args.lmbdas, model=model, penalty=args.penalty,
                                 n_lmbdas=args.n_lmbdas, evaluation_data=(Xv, Yv))
    rows = [{"lmbda": float(l), "sum_w2": float(w2), "sum_abs_w": float(w1), "train_cost": float(c),
             "eval_cost": float(ec), "eval_accuracy": float(acc), "residual": float(r)}
            for l, w2, w1, c, ec, acc, r in zip(result.lmbdas, result.l2_norm2, result.l1_norm,
                                                 result.train_cost, result.eval_cost,
                                                 result.eval_accuracy, result.residual)]
    if args.format == "json":
        print(json.dumps(rows, indent=1), file=stream)
    elif not args.quiet:
        print(f"{'lmbda':>12} {'sum w^2':>12} {'sum |w|':>12} {'train C0':>10} {'eval C0':>10} "
              f"{'eval acc':>8} {'residual':>9}", file=stream)
        for r in rows:
            print(f"{r['lmbda']:>12.4g} {r['sum_w2']:>12.5g} {r['sum_abs_w']:>12.5g} "
                  f"{r['train_cost']:>10.5f} {r['eval_cost']:>10.5f} {r['eval_accuracy']:>8.4f} "
                  f"{r['residual']:>9.1e}", file=stream)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        from ._files import atomic_write

        atomic_write(os.path.join(args.out, "path.json"), json.dumps(rows, indent=1).encode())
        if _plots_available(args):
            from . import plot

            plot.coefficient_paths(result, path=os.path.join(args.out, "coefficient_paths.png"))
            plot.path_norm(result, path=os.path.join(args.out, "path_norm.png"))
            plot.path_costs(result, path=os.path.join(args.out, "path_costs.png"))
    return result


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "experiment":
            experiment(args)
        else:
            path(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"wdecay: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
