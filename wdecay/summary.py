"""What decay did in one run: the summary's numbers, its sentences and the per-epoch table.

:func:`summarize` turns a run's history into the numbers that answer the
user's two questions (did decay shrink the weights, and where does it stop),
:func:`summary_text` into sentences, and :class:`TablePrinter` prints one
line per epoch while training.

Every statement is read off the history: the norm budget (``NormBudget``:
D, G, Q and R per epoch), the pure-decay curve (``DecayPrediction``) and the
radial balance kappa (``Balance``). A prediction made before training by
:func:`wdecay.equilibrium.predict_tailoff` may be passed to :func:`summarize`;
then the summary also says where each layer is heading and compares the
predicted tail-off epoch with the measured one.
"""

from __future__ import annotations

import math
import sys
import warnings

from . import monitors as M
from .optim import get_optimizer
from .regularizers import get_regularizer

#: R at or above this after the tail-off, and kappa near 1, count as levelled off.
LEVEL_BAND = (0.8, 1.25)
#: R below this in epoch 1 is reported as the gradient shrinking the layer.
NEGLIGIBLE_R = -0.1
#: |kappa| below this counts as a negligible radial pull of the gradient.
NEGLIGIBLE_KAPPA = 0.1


class TablePrinter(M.Monitor):
    """Prints one line per epoch: accuracy, and per layer RMS, sum |w|, sum w, variance, R, kappa."""

    def __init__(self, layers, stream=None):
        self.layers, self.stream = layers, stream

    def on_train_begin(self, state):
        head = f"{'epoch':>5} {'eval acc':>8}"
        for l in range(1, self.layers + 1):
            head += (f" | {'layer ' + str(l):<7} {'rms':>7} {'sum|w|':>9} {'sum w':>9} "
                     f"{'var':>8} {'R':>6} {'kappa':>6}")
        print(head, file=self.stream or sys.stdout)

    def on_epoch_end(self, state):
        r = state.record
        line = f"{state.epoch:>5} {r.get('eval/accuracy', math.nan):>8.4f}"
        for l in range(1, self.layers + 1):
            g = lambda k: r.get(f"layer{l}/{k}", math.nan)  # noqa: E731
            line += (f" | {'':<7} {g('rms'):>7.4f} {g('l1'):>9.1f} {g('sum'):>9.2f} "
                     f"{g('var'):>8.5f} {g('R'):>6.3f} {g('kappa'):>6.3f}")
        print(line, file=self.stream or sys.stdout, flush=True)


def _get(history, key, default=math.nan):
    """The per-epoch values of ``key`` as floats, or ``default`` repeated if absent."""
    if key in history:
        return [float(v) for v in history[key]]
    return [default] * len(history)


def _ratio(num, den):
    return num / -den if den and not math.isnan(den) and den < 0 else math.nan


def summarize(history, net, settings, test_accuracy, prediction=None):
    """Numbers that answer the user's questions; the text form is :func:`summary_text`.

    ``prediction`` is an optional :class:`wdecay.equilibrium.TailoffPrediction`
    made before training; its plateau and tail-off epoch are then reported
    beside the measured ones.
    """
    layers = []
    epochs_run = len(history) - 1
    for l in range(1, len(net.weights) + 1):
        g = lambda key: _get(history, f"layer{l}/{key}")  # noqa: E731
        rms, ratio = g("rms"), g("rms_ratio")
        D, G, Q = g("budget_D"), g("budget_G"), g("budget_Q")
        R = g("R")
        departure = g("departure_epoch")[-1]
        tail = g("tailoff_epoch")[-1]
        stop = len(ratio) if math.isnan(departure) else int(departure)
        dominated = ratio[:stop]
        kappa = g("kappa")
        tailoff = tail if len(dominated) > 1 else math.nan
        pred = prediction[l] if prediction is not None else None
        layers.append({
            "layer": l, "shape": list(net.weights[l - 1].shape),
            "rms_initial": rms[0], "rms_final": rms[-1],
            "factor": rms[-1] / rms[0] if rms[0] else math.nan,
            "predicted_rms_final": g("predicted_rms")[-1],
            "decay_dominated_epochs": max(len(dominated) - 1, 0),
            "max_deviation_while_decay_dominated":
                max((abs(r - 1) for r in dominated), default=math.nan),
            "departure_epoch": departure, "R_final": R[-1],
            # a tail-off ends a decay-dominated phase: none for a layer that never had one
            "tailoff_epoch": tailoff, "R_half_epoch": tail,
            "R_epoch1": R[1] if len(R) > 1 else math.nan,
            "G_ratio_epoch1": _ratio(G[1], D[1]) if len(D) > 1 else math.nan,
            "G_ratio_final": _ratio(G[-1], D[-1]), "Q_ratio_final": _ratio(Q[-1], D[-1]),
            "kappa_initial": kappa[0], "kappa_final": kappa[-1],
            "rms_at_tailoff": math.nan if math.isnan(tailoff) else rms[int(tailoff)],
            "cancellation_final": g("cancellation")[-1],
            "induced_l1_final": g("induced_l1")[-1],
            "abs_sum_final": g("abs_sum")[-1],
            "ref_inv_sqrt_N": g("ref_inv_sqrt_N")[-1],
            "ref_inv_sqrt_fan_in": g("ref_inv_sqrt_fan_in")[-1],
            "ref_inv_sqrt_input_power": g("ref_inv_sqrt_input_power")[-1],
            "mean_fprime_final": float(history.last(f"layer{l}/mean_fprime")),
            "predicted_plateau": None if pred is None else pred.plateau_rms,
            "predicted_tailoff_epoch": None if pred is None else pred.tailoff_epoch,
            "prediction_reason": None if pred is None else pred.reason,
            "decay_fraction_last": _ratio(-D[-1], -g("fro2")[-2]) if len(D) > 1 else math.nan,
        })
    radial_decay = _get(history, "layer1/radial_decay")[0]  # <W, grad penalty>, from Balance
    if math.isnan(radial_decay):
        decay = (settings.get("regularizer") not in (None, "none")
                 and float(settings.get("lmbda", 0)) > 0)
    else:
        decay = radial_decay > 0
    return {"settings": settings, "eval_accuracy_final": float(history.last("eval/accuracy")),
            "test_accuracy": test_accuracy, "epochs_run": epochs_run, "decay": decay,
            "n_weights": int(net.n_weights), "layers": layers}


DEFINITIONS = (
    "  R = (G + Q)/(-D) = 1 + d||W||^2/|D| per epoch, where D, G and Q are the changes of "
    "||W||^2 made by decay, by the gradient and by their second-order term: R ~ 0 while decay "
    "alone sets the norm, R ~ 1 when the gradient balances decay, R < 0 when the gradient "
    "shrinks the layer too. kappa = -<W, grad C0>/<W, grad penalty> (under L2 the denominator is "
    "(lmbda/n)||W||^2), the full-batch gradient's "
    "radial pull against decay's. 1/sqrt(n_in) (n_in a layer's inputs) and 1/sqrt(E|a_in|^2) "
    "(a_in a layer's input vector) are reference scales (the second measured on the layer's current inputs). N = {N} is the number of weights, "
    "n = {n} the training rows.")


def _epochs(k):
    return f"{k} epoch" + ("" if k == 1 else "s")


def _fmt_epoch(x):
    return f"{x:.1f}" if x is not None and not math.isnan(x) else "-"


def _layer_lines(L, s, summary):
    """The sentences for one layer."""
    out = []
    verb = ("changed" if abs(L["factor"] - 1) < 5e-4 else
            "shrank" if L["factor"] < 1 else "grew")
    out.append(f"Layer {L['layer']} {tuple(L['shape'])}: RMS {verb} by a factor of "
               f"{L['factor']:.3f} ({L['rms_initial']:.4f} -> {L['rms_final']:.4f}).")
    if not summary["decay"]:
        out.append("  No decay in this run, so there is no level set by lmbda/n: the gradient "
                   "alone moved the weights.")
        out.append(f"  The exercise's 1/sqrt(N) = {L['ref_inv_sqrt_N']:.4f} is {L['rms_final'] / L['ref_inv_sqrt_N']:.0f}"
                   " times below the measured RMS; without decay nothing pulls the weights towards it.")
        return out
    r1 = L["R_epoch1"]
    never = L["decay_dominated_epochs"] == 0
    # 1. decay-dominated, and for how long
    if never:
        out.append(f"  Never on the pure-decay curve: within epoch 1 it left it "
                   f"(R = {r1:.3f} in epoch 1).")
    elif math.isnan(L["departure_epoch"]):
        out.append(f"  On the pure-decay curve throughout: for all "
                   f"{_epochs(L['decay_dominated_epochs'])} it followed the penalty's step alone ("
                   f"{L['predicted_rms_final']:.4f} now) within "
                   f"{100 * L['max_deviation_while_decay_dominated']:.2f}%.")
    else:
        out.append(f"  On the pure-decay curve for {_epochs(L['decay_dominated_epochs'])}: it "
                   f"followed the penalty's step alone within "
                   f"{100 * L['max_deviation_while_decay_dominated']:.2f}%, then left it.")
    if r1 < NEGLIGIBLE_R:
        out.append(f"  R < 0 in epoch 1: the gradient shrank the layer too, removing "
                   f"{-r1:.2f} times as much of ||W||^2 as decay did.")
    # 2. where it is heading, and 3. whether it got there
    plateau = L["predicted_plateau"]
    if plateau is not None:
        out.append(f"  Heading for its plateau RMS {plateau:.4f}: the stationary point of "
                   f"C0 + penalty, set by lmbda/n = {s['lmbda'] / s['n_train']:.3g}.")
    tail, half, R_end = L["tailoff_epoch"], L["R_half_epoch"], L["R_final"]
    levelled = not math.isnan(half) and LEVEL_BAND[0] <= R_end <= LEVEL_BAND[1]
    if never:
        first = (f"R first reached 0.5 in epoch {int(half)}" if not math.isnan(half)
                 else "R never reached 0.5")
        out.append(f"  {first}, but with no pure-decay phase there was no tail-off; "
                   f"R is now {R_end:.3f}"
                   + (", where the gradient balances decay." if levelled else "."))
    elif math.isnan(tail):
        out.append(f"  Not there yet: R is {R_end:.3f} (< 0.5) after "
                   f"{_epochs(summary['epochs_run'])}: decay still removes more of ||W||^2 than the "
                   f"gradient gives back.")
    else:
        out.append(f"  Decay stopped dominating at epoch {int(tail)} (R reached 0.5) at RMS "
                   f"{L['rms_at_tailoff']:.4f}; R is now {R_end:.3f}"
                   + (", so it has levelled off." if levelled else "."))
    if L["predicted_tailoff_epoch"] is not None:
        out.append(f"  Predicted tail-off epoch {_fmt_epoch(L['predicted_tailoff_epoch'])}, "
                   f"measured {int(tail) if not math.isnan(tail) else 'not yet'}.")
    elif L["prediction_reason"]:
        out.append(f"  No tail-off epoch predicted: {L['prediction_reason']}.")
    # 4. why it shrank or grew
    k0 = L["kappa_initial"]
    if levelled:
        side = "above" if L["rms_initial"] > L["rms_final"] else "below"
        trend = ("" if abs(L["R_final"] - 1) < 0.02 else
                 f"; R = {L['R_final']:.3f} {'>' if L['R_final'] > 1 else '<'} 1, so it is still "
                 f"{'growing' if L['R_final'] > 1 else 'shrinking'} slightly")
        out.append(f"  It {verb} overall because it started {side} the level where the gradient "
                   f"balances decay for this lmbda/n ({L['rms_initial']:.4f} against "
                   f"{L['rms_final']:.4f} now{trend}).")
    elif not never and L["factor"] < 1:
        out.append("  It shrank because it started above the level where the gradient balances "
                   "decay for this lmbda/n, and decay set its norm.")
    if not math.isnan(k0):
        if abs(k0) < NEGLIGIBLE_KAPPA:
            why = "the gradient's radial pull was negligible, so decay alone set the norm"
        elif k0 < -1:
            why = "the gradient pulled the layer inwards, faster than decay"
        elif k0 < 0:
            why = "the gradient pulled the layer inwards as well"
        elif k0 < 0.5:
            why = "decay pulled harder than the gradient pushed"
        elif k0 <= 1:
            why = "the gradient nearly balanced decay from the start"
        else:
            why = "the gradient pushed outwards harder than decay pulled"
        out.append(f"  At the start kappa = {k0:.3f}: {why}. At the end kappa = "
                   f"{L['kappa_final']:.3f}; the gradient supplies G/(-D) = "
                   f"{L['G_ratio_final']:.3f} and the second-order term Q/(-D) = {L['Q_ratio_final']:.3f} "
                   f"of the balance.")
    # 5. the exercise's 1/sqrt(n)
    out.append(f"  The exercise's 1/sqrt(N) = {L['ref_inv_sqrt_N']:.4f} is "
               f"{L['rms_final'] / L['ref_inv_sqrt_N']:.0f} times below the RMS now; the level "
               f"decay stops at is set by lmbda/n and the data, not by N (also 1/sqrt(n_in) = "
               f"{L['ref_inv_sqrt_fan_in']:.4f}, 1/sqrt(E|a_in|^2) = "
               f"{L['ref_inv_sqrt_input_power']:.4f}).")
    if L["cancellation_final"] < 0.2:
        out.append(
            f"  Beware signed sums: |sum w| is only {L['cancellation_final']:.2g} of "
            f"sum|w| = {L['abs_sum_final']:.1f}, and np.linalg.norm(W, 1) = "
            f"{L['induced_l1_final']:.2f} is the largest column sum, not sum|w|.")
    return out


def _optimizer_lines(summary):
    """What a non-Nielsen optimizer did to decay: the measured share of ||W||^2 decay removed."""
    s = summary["settings"]
    optimizer = get_optimizer(s.get("optimizer", "sgd"))
    if optimizer.nielsen:
        return []
    how = ("decoupled: the penalty's decay step acts on the weights before the optimizer's "
           "step, whatever the gradients" if optimizer.decoupled else
           "coupled: the penalty's gradient goes through the optimizer with the cost's")
    shares = ", ".join(f"{100 * L['decay_fraction_last']:.3g}% of layer {L['layer']}'s"
                       for L in summary["layers"])
    line = (f"  Optimizer {s['optimizer']}, {how}. In the last epoch decay removed {shares} "
            f"||W||^2 (-D/||W||^2).")
    regularizer = get_regularizer(s["regularizer"], s["lmbda"])
    if not regularizer.has_shrink:  # a pure factor: what plain SGD would remove per epoch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            factor = regularizer.factor(s["eta"], s["n_train"])
        steps = math.ceil(s["n_train"] / s["batch_size"])
        line += (f" Plain SGD's factor {factor:.6g} per step would remove "
                 f"{100 * (1 - factor ** (2 * steps)):.3g}% per epoch at this eta; the "
                 f"pure-decay curves assume that factor.")
    return [line]


def summary_text(summary):
    """The summary in sentences."""
    s = summary["settings"]
    reg = "no decay" if not summary["decay"] else f"{s['regularizer'].upper()} lmbda={s['lmbda']:g}"
    lines = [f"{reg}, eta={s['eta']:g}, batch {s['batch_size']}, {_epochs(s['epochs'])}, seed "
             f"{s['seed']}: test accuracy {summary['test_accuracy']:.4f} (validation "
             f"{summary['eval_accuracy_final']:.4f})."]
    if summary["epochs_run"] == 0:
        lines.append("No epochs were run: the weights are the initial ones, so there is nothing "
                     "to say yet about what decay does to them.")
        return "\n".join(lines)
    if summary["decay"]:
        lines.append(DEFINITIONS.format(N=summary["n_weights"], n=s["n_train"]))
        lines += _optimizer_lines(summary)
    for L in summary["layers"]:
        lines += _layer_lines(L, s, summary)
    return "\n".join(lines)
