"""What decay did in one run: the summary's numbers, its sentences and the per-epoch table.

:func:`summarize` turns a run's history into the numbers that answer the
user's questions, :func:`summary_text` into sentences, and :class:`TablePrinter`
prints one line per epoch while training.
"""

from __future__ import annotations

import math
import sys

from . import monitors as M


class TablePrinter(M.Monitor):
    """Prints one line per epoch: accuracy, and per layer RMS, sum |w|, sum w, variance, R."""

    def __init__(self, layers, stream=None):
        self.layers, self.stream = layers, stream

    def on_train_begin(self, state):
        head = f"{'epoch':>5} {'eval acc':>8}"
        for l in range(1, self.layers + 1):
            head += f" | L{l} {'rms':>7} {'sum|w|':>9} {'sum w':>9} {'var':>8} {'R':>6}"
        print(head, file=self.stream or sys.stdout)

    def on_epoch_end(self, state):
        r = state.record
        line = f"{state.epoch:>5} {r.get('eval/accuracy', math.nan):>8.4f}"
        for l in range(1, self.layers + 1):
            g = lambda k: r.get(f"layer{l}/{k}", math.nan)  # noqa: E731
            line += (f" | {'':>2} {g('rms'):>7.4f} {g('l1'):>9.1f} {g('sum'):>9.2f} "
                     f"{g('var'):>8.5f} {g('R'):>6.3f}")
        print(line, file=self.stream or sys.stdout, flush=True)


def summarize(history, net, settings, test_accuracy):
    """Numbers that answer the user's questions; the text form is :func:`summary_text`."""
    layers = []
    for l in range(1, len(net.weights) + 1):
        g = lambda key: history[f"layer{l}/{key}"]  # noqa: E731
        rms, ratio = g("rms"), g("rms_ratio")
        departure = float(g("departure_epoch")[-1])
        dominated = ratio if math.isnan(departure) else ratio[:int(departure)]
        tail = float(g("tailoff_epoch")[-1])
        layers.append({
            "layer": l, "shape": list(net.weights[l - 1].shape),
            "rms_initial": float(rms[0]), "rms_final": float(rms[-1]),
            "factor": float(rms[-1] / rms[0]),
            "predicted_rms_final": float(g("predicted_rms")[-1]),
            "decay_dominated_epochs": len(dominated) - 1,
            "max_deviation_while_decay_dominated": float(max(abs(dominated - 1))),
            "departure_epoch": departure, "R_final": float(g("R")[-1]), "tailoff_epoch": tail,
            "rms_at_tailoff": math.nan if math.isnan(tail) else float(rms[int(tail)]),
            "cancellation_final": float(g("cancellation")[-1]),
            "induced_l1_final": float(g("induced_l1")[-1]),
            "abs_sum_final": float(g("abs_sum")[-1]),
            "ref_inv_sqrt_N": float(g("ref_inv_sqrt_N")[-1]),
            "ref_inv_sqrt_fan_in": float(g("ref_inv_sqrt_fan_in")[-1]),
            "ref_inv_sqrt_input_power": float(g("ref_inv_sqrt_input_power")[-1]),
            "mean_fprime_final": float(history.last(f"layer{l}/mean_fprime")),
        })
    return {"settings": settings, "eval_accuracy_final": float(history.last("eval/accuracy")),
            "test_accuracy": test_accuracy, "layers": layers}


REFERENCES = (("ref_inv_sqrt_input_power", "1/sqrt(E|a_in|^2)"), ("ref_inv_sqrt_fan_in", "1/sqrt(n_in)"),
              ("ref_inv_sqrt_N", "1/sqrt(N)"))


def _epochs_to(summary, L, level):
    """Epochs of pure L2 decay, at the exact per-step factor, from the final RMS to ``level``."""
    s = summary["settings"]
    steps = math.ceil(s["n_train"] / s["batch_size"])
    per_epoch = -steps * math.log1p(-s["eta"] * s["lmbda"] / s["n_train"])
    return math.log(L["rms_final"] / level) / per_epoch


def summary_text(summary):
    """The summary in sentences."""
    s = summary["settings"]
    lines = [f"{s['regularizer'].upper()} lmbda={s['lmbda']:g}, eta={s['eta']:g}, batch "
             f"{s['batch_size']}, {s['epochs']} epochs, seed {s['seed']}: test accuracy "
             f"{summary['test_accuracy']:.4f} (validation {summary['eval_accuracy_final']:.4f})."]
    for L in summary["layers"]:
        verb = "shrank" if L["factor"] < 1 else "grew"
        lines.append(
            f"Layer {L['layer']} {tuple(L['shape'])}: RMS {verb} by a factor of "
            f"{L['factor']:.3f} ({L['rms_initial']:.4f} -> {L['rms_final']:.4f}); "
            f"pure decay predicts {L['predicted_rms_final']:.4f}.")
        if L["decay_dominated_epochs"] > 0:
            lines.append(f"  For {L['decay_dominated_epochs']} epochs it followed the pure-decay "
                         f"curve within {100 * L['max_deviation_while_decay_dominated']:.2f}%.")
        else:
            lines.append("  It left the pure-decay curve within the first epoch: gradient steps "
                         "change its norm as much as decay does.")
        if math.isnan(L["tailoff_epoch"]):
            lines.append(f"  Decay has not tailed off: the norm-budget ratio R is "
                         f"{L['R_final']:.3f} (< 0.5), so decay still dominates.")
        else:
            lines.append(f"  Decay tailed off at epoch {int(L['tailoff_epoch'])} (R reached 0.5) "
                         f"at RMS {L['rms_at_tailoff']:.4f}; R is now {L['R_final']:.3f}.")
        lines.append("  Reference scales: " + ", ".join(
            f"{name} = {L[key]:.4f}" for key, name in REFERENCES) + ".")
        if (s["regularizer"] == "l2" and s["lmbda"] > 0 and math.isnan(L["tailoff_epoch"])
                and L["factor"] < 1):
            for key, name in REFERENCES:
                if L[key] < L["rms_final"]:
                    lines.append(f"  Pure decay would need {_epochs_to(summary, L, L[key]):.0f} "
                                 f"more epochs to reach {name} = {L[key]:.4f}.")
        if L["cancellation_final"] < 0.2:
            lines.append(
                f"  Beware signed sums: |sum w| is only {L['cancellation_final']:.2g} of "
                f"sum|w| = {L['abs_sum_final']:.1f}, and np.linalg.norm(W, 1) = "
                f"{L['induced_l1_final']:.2f} is the largest column sum, not sum|w|.")
    return "\n".join(lines)
