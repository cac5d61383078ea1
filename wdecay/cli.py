"""Command line: ``wdecay experiment`` trains the motivating network and shows what decay did.

Defaults are the book's weight-decay experiment on the embedded MNIST sample:
sizes 784,30,10, large initializer, cross-entropy, L2 lmbda=5, eta=0.1,
mini-batch 10, 30 epochs, seed 0.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from . import monitors as M
from .network import Network
from .regularizers import get_regularizer


def _sizes(text):
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be integers separated by commas, got {text!r}")


def build_parser():
    parser = argparse.ArgumentParser(prog="wdecay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("experiment", help="train a network and report what weight decay did")
    exp.add_argument("--dataset", nargs="+", default=["mnist-sample"], metavar="NAME [PATH]",
                     help="mnist-sample (default), 'mnist PATH' (mnist.pkl.gz or IDX folder) "
                          "or 'fashion-mnist [PATH]'")
    exp.add_argument("--sizes", type=_sizes, default=[784, 30, 10])
    exp.add_argument("--init", default="large", help="large (default) or default")
    exp.add_argument("--cost", default="cross-entropy")
    exp.add_argument("--activation", default="sigmoid")
    exp.add_argument("--regularizer", default="l2", help="l2 (default), l1 or none")
    exp.add_argument("--lmbda", type=float, default=5.0)
    exp.add_argument("--eta", type=float, default=0.1)
    exp.add_argument("--batch-size", type=int, default=10)
    exp.add_argument("--epochs", type=int, default=30)
    exp.add_argument("--seed", type=int, default=0)
    exp.add_argument("--out", default=None, help="folder for history.csv/json, summary.json, model.json")
    exp.add_argument("--quiet", action="store_true", help="print only the summary")
    exp.add_argument("--format", choices=["table", "json"], default="table")
    return parser


def load_dataset(spec):
    """Return DataSplits for a ``--dataset`` value (a list of words)."""
    from . import datasets

    name, rest = spec[0], spec[1:]
    if name == "mnist-sample":
        return datasets.load_mnist_sample()
    if name == "mnist":
        if not rest:
            raise SystemExit("wdecay: --dataset mnist needs a PATH (mnist.pkl.gz or an IDX folder)")
        return datasets.load_mnist(rest[0])
    if name == "fashion-mnist":
        return datasets.load_fashion_mnist(rest[0] if rest else None)
    raise SystemExit(f"wdecay: unknown dataset {name!r}; choose mnist-sample, mnist PATH "
                     "or fashion-mnist [PATH]")


class TablePrinter(M.Monitor):
    """Prints one line per epoch: accuracy, and per layer RMS, sum |w|, sum w, variance, R."""

    def __init__(self, layers, stream):
        self.layers, self.stream = layers, stream

    def on_train_begin(self, state):
        head = f"{'epoch':>5} {'eval acc':>8}"
        for l in range(1, self.layers + 1):
            head += f" | L{l} {'rms':>7} {'sum|w|':>9} {'sum w':>9} {'var':>8} {'R':>6}"
        print(head, file=self.stream)

    def on_epoch_end(self, state):
        r = state.record
        line = f"{state.epoch:>5} {r.get('eval/accuracy', math.nan):>8.4f}"
        for l in range(1, self.layers + 1):
            g = lambda k: r.get(f"layer{l}/{k}", math.nan)  # noqa: E731
            line += (f" | {'':>2} {g('rms'):>7.4f} {g('l1'):>9.1f} {g('sum'):>9.2f} "
                     f"{g('var'):>8.5f} {g('R'):>6.3f}")
        print(line, file=self.stream, flush=True)


def summarize(history, net, args, test_accuracy):
    """Numbers that answer the user's questions; the text form is :func:`summary_text`."""
    layers = []
    for l in range(1, len(net.weights) + 1):
        rms = history[f"layer{l}/rms"]
        layers.append({
            "layer": l, "shape": list(net.weights[l - 1].shape),
            "rms_initial": float(rms[0]), "rms_final": float(rms[-1]),
            "factor": float(rms[-1] / rms[0]),
            "predicted_rms_final": float(history[f"layer{l}/predicted_rms"][-1]),
            "R_final": float(history[f"layer{l}/R"][-1]),
            "tailoff_epoch": float(history[f"layer{l}/tailoff_epoch"][-1]),
            "departure_epoch": float(history[f"layer{l}/departure_epoch"][-1]),
            "cancellation_final": float(history[f"layer{l}/cancellation"][-1]),
            "induced_l1_final": float(history[f"layer{l}/induced_l1"][-1]),
            "abs_sum_final": float(history[f"layer{l}/abs_sum"][-1]),
            "ref_inv_sqrt_N": float(history[f"layer{l}/ref_inv_sqrt_N"][-1]),
            "ref_inv_sqrt_fan_in": float(history[f"layer{l}/ref_inv_sqrt_fan_in"][-1]),
            "ref_inv_sqrt_input_power": float(history[f"layer{l}/ref_inv_sqrt_input_power"][-1]),
        })
    return {"settings": {k: v for k, v in vars(args).items() if k != "command"},
            "eval_accuracy_final": float(history.last("eval/accuracy")),
            "test_accuracy": test_accuracy, "layers": layers}


def summary_text(summary):
    lines = [f"Test accuracy {summary['test_accuracy']:.4f} "
             f"(validation {summary['eval_accuracy_final']:.4f})."]
    s = summary["settings"]
    for L in summary["layers"]:
        verb = "shrank" if L["factor"] < 1 else "grew"
        lines.append(
            f"Layer {L['layer']} {tuple(L['shape'])}: RMS {verb} by a factor of "
            f"{L['factor']:.3f} ({L['rms_initial']:.4f} -> {L['rms_final']:.4f}); "
            f"pure decay predicts {L['predicted_rms_final']:.4f}.")
        if math.isnan(L["tailoff_epoch"]):
            lines.append(f"  Decay has not tailed off: the norm-budget ratio R is "
                         f"{L['R_final']:.3f} (< 0.5).")
        else:
            lines.append(f"  Decay tailed off at epoch {int(L['tailoff_epoch'])} "
                         f"(R reached 0.5); R is now {L['R_final']:.3f}.")
        lines.append(
            f"  Reference scales: 1/sqrt(N) = {L['ref_inv_sqrt_N']:.4f}, 1/sqrt(n_in) = "
            f"{L['ref_inv_sqrt_fan_in']:.4f}, 1/sqrt(E|a_in|^2) = "
            f"{L['ref_inv_sqrt_input_power']:.4f}.")
        if s.get("regularizer") == "l2" and L["factor"] < 1 and s.get("lmbda", 0) > 0:
            per_epoch = s["eta"] * s["lmbda"] / s["batch_size"]
            for name in ("ref_inv_sqrt_input_power", "ref_inv_sqrt_fan_in", "ref_inv_sqrt_N"):
                if L[name] < L["rms_final"]:
                    more = math.log(L["rms_final"] / L[name]) / per_epoch
                    lines.append(f"  Pure decay (exp(-eta*lmbda/m) = exp(-{per_epoch:g}) per "
                                 f"epoch) needs {more:.0f} more epochs to reach {L[name]:.4f}.")
        if L["cancellation_final"] < 0.2:
            lines.append(
                f"  Beware signed sums: |sum w| is only {L['cancellation_final']:.3f} of "
                f"sum|w| = {L['abs_sum_final']:.1f}; np.linalg.norm(W, 1) = "
                f"{L['induced_l1_final']:.2f} is the largest column sum, not sum|w|.")
    return "\n".join(lines)


def run_experiment(args, stream=None):
    stream = sys.stdout if stream is None else stream
    splits = load_dataset(args.dataset)
    (X, y), evaluation, (X_test, y_test) = splits
    net = Network(args.sizes, cost=args.cost, initializer=args.init,
                  activation=args.activation, seed=args.seed)
    regularizer = get_regularizer(args.regularizer, args.lmbda)
    monitors = [M.Accuracy("evaluation"), *M.diagnostics(), M.ProgressBar()]
    if not args.quiet and args.format == "table":
        monitors.append(TablePrinter(len(net.weights), stream))
    history_path = None
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        history_path = os.path.join(args.out, "history.csv")
        if os.path.exists(history_path):
            os.unlink(history_path)
    from .history import History

    history = net.fit(X, y, epochs=args.epochs, batch_size=args.batch_size, eta=args.eta,
                      regularizer=regularizer, evaluation_data=evaluation, monitors=monitors,
                      seed=args.seed, history=History(path=history_path))
    summary = summarize(history, net, args, net.accuracy(X_test, y_test))
    if args.out:
        from ._files import atomic_write
        from .serialization import save

        history.to_json(os.path.join(args.out, "history.json"))
        atomic_write(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=1).encode())
        save(net, os.path.join(args.out, "model.json"))
    if args.format == "json":
        print(json.dumps(summary, indent=1), file=stream)
    else:
        print("\n" + summary_text(summary), file=stream)
    return history, summary


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "experiment":
            run_experiment(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"wdecay: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
