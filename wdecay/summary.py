"""What decay did in one run: the summary's numbers, its sentences and the per-epoch table.

:func:`summarize` turns a run's history into the numbers that answer the
user's two questions (did decay shrink the weights, and where does it stop),
:func:`summary_text` into sentences (a short answer first, then the details
per layer), and :class:`TablePrinter` prints one line per epoch while
training. :func:`definitions` gives the definitions of R, kappa and the
tail-off notions (printed by ``wdecay experiment --explain`` and meant for
the report).

Every measured statement is read off the history: the norm budget
(``NormBudget``: D, G, Q and R per epoch), the optimizer's own pure-decay
curve (``DecayPrediction``: NaN where the optimizer has none) and the radial
balance kappa (``Balance``). The settings only name the run and its
optimizer. A prediction made before training by
:func:`wdecay.equilibrium.predict_tailoff` may be passed to :func:`summarize`;
then the summary also says where each layer is heading and compares the
predicted tail-off epoch with the measured one.

Three notions that the sentences keep apart:

- **decay alone** (on the pure-decay curve): in each of the first epochs the
  RMS is within :data:`CURVE_TOLERANCE` of the curve *and* R is within
  :data:`DECAY_BAND`, and the curve falls by at least :data:`CURVE_MIN_FALL`
  per epoch (otherwise following it cannot tell decay from no change). The
  first epoch that fails is where the layer *left the pure-decay curve*;
- **tail-off**: the first epoch with R >= 0.5 (NormBudget's
  ``tailoff_epoch``), after a decay-alone phase;
- **levelled off**: R, and kappa + Q/(-D) where kappa compares with R (plain
  SGD: momentum's velocity and Adam's rescaling change G and Q), within
  :data:`LEVEL_BAND` in each of the last :data:`LEVEL_EPOCHS` epochs.
"""

from __future__ import annotations

import math
import sys

from . import config
from . import monitors as M
from .config import DEFAULTS, FAMILIES, settings_of
from .naming import layer_label
from .optim import declaration

#: R, and kappa + Q/(-D) where it compares with R, in this band in each of the last
#: LEVEL_EPOCHS epochs count as levelled off (the gradient balances decay).
LEVEL_BAND = (0.8, 1.25)
#: Epochs at the end of a run that must all lie in LEVEL_BAND to call a layer levelled off.
LEVEL_EPOCHS = 3
#: R below this in an epoch is reported as the gradient shrinking the layer too.
NEGLIGIBLE_R = -0.1
#: R within this band (with the RMS on the curve) counts as decay alone in that epoch.
DECAY_BAND = (NEGLIGIBLE_R, 0.2)
#: The RMS within this relative distance of the pure-decay curve counts as on it.
CURVE_TOLERANCE = 0.01
#: The pure-decay curve must fall at least this much per epoch (twice the tolerance: no
#: change would then be off the curve by more than the tolerance within an epoch) for
#: following it to tell decay from no change.
CURVE_MIN_FALL = 2 * CURVE_TOLERANCE
#: The R at which decay stops dominating (NormBudget's default threshold).
TAILOFF_R = 0.5
#: |kappa| below this counts as a negligible radial pull of the gradient.
NEGLIGIBLE_KAPPA = 0.1
#: Epochs after which the default experiment (the book's settings on the sample) has
#: levelled off; measured by tests/test_summary_truth.py (slow).
DEFAULT_LEVEL_EPOCHS = 80


def kappa_comparable(optimizer):
    """Whether kappa + Q/(-D) compares with R under ``optimizer``: a step of no transform of
    its own (plain SGD), where G/(-D) is the epoch's mean of kappa's first-order pull
    (momentum's velocity and Adam's rescaling change G and Q). None (unknown): False."""
    return optimizer is not None and not optimizer.core()



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


def _finite(x):
    return x is not None and not math.isnan(x)


def _decay_alone_epochs(R, ratio, predicted):
    """How many first epochs were decay alone, and why the next one was not.

    Returns ``(k, reason)``: epochs 1..k each had the RMS within
    CURVE_TOLERANCE of the curve, R within DECAY_BAND and a curve falling at
    least CURVE_MIN_FALL; ``reason`` names what epoch k + 1 failed ("R",
    "curve", "flat" or "" when the run ended first).
    """
    for e in range(1, len(R)):
        if not (_finite(predicted[e]) and _finite(predicted[e - 1]) and predicted[e - 1] > 0):
            return e - 1, "flat"
        if 1 - predicted[e] / predicted[e - 1] < CURVE_MIN_FALL:
            return e - 1, "flat"
        if not (_finite(R[e]) and DECAY_BAND[0] <= R[e] <= DECAY_BAND[1]):
            return e - 1, "R"
        if not (_finite(ratio[e]) and abs(ratio[e] - 1) <= CURVE_TOLERANCE):
            return e - 1, "curve"
    return len(R) - 1, ""


def _ranges(epochs):
    """``[1, 2, 3, 5]`` -> ``"1-3 and 5"``."""
    parts, i = [], 0
    while i < len(epochs):
        j = i
        while j + 1 < len(epochs) and epochs[j + 1] == epochs[j] + 1:
            j += 1
        parts.append(str(epochs[i]) if i == j else f"{epochs[i]}-{epochs[j]}")
        i = j + 1
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def summarize(history, net, settings, test_accuracy, prediction=None, optimizer=None):
    """Numbers that answer the user's questions; the text form is :func:`summary_text`.

    ``optimizer`` is the one the run trained with, when its registered name
    (``settings["optimizer"]``) does not make it (a decoupled ``Momentum``, an
    ``Optimizer(core=[...])`` of your own): the summary then keeps what the
    sentences need of it under ``"optimizer"`` (:func:`optimizer_facts`).

    ``prediction`` is an optional :class:`wdecay.equilibrium.TailoffPrediction`
    made before training; its plateau and tail-off epoch are then reported
    beside the measured ones. Per layer, ``decay_alone_epochs`` (also as
    ``decay_dominated_epochs``) counts the first epochs that were decay alone
    (see the module docstring), ``departure_epoch`` is the epoch it left the
    pure-decay curve (NaN if it never followed it or never left it),
    ``tailoff_epoch`` the first epoch with R >= 0.5 after a decay-alone phase
    (``R_half_epoch`` without that condition), ``levelled`` whether R (and
    kappa + Q/(-D) where it compares) stayed in LEVEL_BAND over the last
    LEVEL_EPOCHS epochs, and ``R_overall`` = sum(G + Q) / sum(-D) over the run.
    """
    layers = []
    epochs_run = len(history) - 1
    named = _run_optimizer(settings)
    facts = None
    if optimizer is not None and optimizer != named:  # the name does not make it
        facts, named = optimizer_facts(optimizer), optimizer
    comparable = kappa_comparable(named)
    for l in range(1, len(net.weights) + 1):
        g = lambda key: _get(history, f"layer{l}/{key}")  # noqa: E731
        rms, ratio, predicted = g("rms"), g("rms_ratio"), g("predicted_rms")
        D, G, Q = g("budget_D"), g("budget_G"), g("budget_Q")
        R, kappa, Qr = g("R"), g("kappa"), g("Q_ratio")
        half = g("tailoff_epoch")[-1]
        k, reason = _decay_alone_epochs(R, ratio, predicted)
        curve = epochs_run > 0 and all(_finite(p) for p in predicted[:2])
        fall = (1 - predicted[1] / predicted[0] if curve and predicted[0] > 0 else math.nan)
        tailoff = half if k >= 1 else math.nan
        last = list(range(max(epochs_run - LEVEL_EPOCHS + 1, 1), epochs_run + 1))
        level_R = [R[e] for e in last]
        level_k = [kappa[e] + Qr[e] for e in last] if comparable else []
        levelled = (epochs_run >= LEVEL_EPOCHS
                    and all(_finite(x) and LEVEL_BAND[0] <= x <= LEVEL_BAND[1]
                            for x in level_R + level_k))
        sum_D = sum(d for d in D[1:] if _finite(d))
        sum_GQ = sum(a + b for a, b in zip(G[1:], Q[1:]) if _finite(a) and _finite(b))
        pred = prediction[l] if prediction is not None else None
        phase = R[1:k + 1]
        layers.append({
            "layer": l, "shape": list(net.weights[l - 1].shape),
            "label": layer_label(l, net.sizes),
            "rms_initial": rms[0], "rms_final": rms[-1],
            "factor": rms[-1] / rms[0] if rms[0] else math.nan,
            "predicted_rms_final": predicted[-1], "curve": curve,
            "curve_fall_epoch1": fall,
            "decay_alone_epochs": k, "decay_dominated_epochs": k,
            "left_curve_because": reason,
            "R_decay_alone": [min(phase), max(phase)] if phase else None,
            "max_deviation_while_decay_dominated":
                max((abs(r - 1) for r in ratio[1:k + 1]), default=math.nan),
            "departure_epoch": k + 1 if 1 <= k < epochs_run else math.nan,
            "ratio_at_departure": ratio[k + 1] if k < epochs_run else math.nan,
            "R_at_departure": R[k + 1] if k < epochs_run else math.nan,
            "R_final": R[-1],
            "tailoff_epoch": tailoff, "R_half_epoch": half,
            "levelled": levelled, "R_last": level_R,
            "kappa_Q_last": level_k,
            "R_overall": sum_GQ / -sum_D if sum_D < 0 else math.nan,
            "R_negative_epochs": [e for e in range(1, epochs_run + 1)
                                  if _finite(R[e]) and R[e] < NEGLIGIBLE_R],
            "R_above_1_epochs": [e for e in range(1, epochs_run + 1)
                                 if _finite(R[e]) and R[e] > 1],
            "R_epoch1": R[1] if len(R) > 1 else math.nan,
            "G_ratio_epoch1": _ratio(G[1], D[1]) if len(D) > 1 else math.nan,
            "G_ratio_final": _ratio(G[-1], D[-1]), "Q_ratio_final": _ratio(Q[-1], D[-1]),
            "kappa_initial": kappa[0], "kappa_final": kappa[-1],
            "kappa_comparable": comparable,
            "rms_at_tailoff": math.nan if math.isnan(tailoff) else rms[int(tailoff)],
            "cancellation_final": g("cancellation")[-1],
            "induced_l1_final": g("induced_l1")[-1],
            "abs_sum_final": g("abs_sum")[-1],
            "ref_inv_sqrt_N": g("ref_inv_sqrt_N")[-1],
            "ref_inv_sqrt_fan_in": g("ref_inv_sqrt_fan_in")[-1],
            "ref_inv_sqrt_input_power": g("ref_inv_sqrt_input_power")[-1],
            "mean_fprime_final": float(history.last(f"layer{l}/mean_fprime")),
            "predicted_plateau": None if pred is None else pred.plateau_rms,
            # the plateau adds the noise spread to the stationary point (SGD under L2, batches < n)
            "predicted_noise": (pred is not None and pred.plateau_rms is not None
                                and pred.stationary_rms is not None
                                and pred.plateau_rms != pred.stationary_rms),
            "predicted_tailoff_epoch": None if pred is None else pred.tailoff_epoch,
            "prediction_reason": None if pred is None else pred.reason,
            "decay_fraction_last": _ratio(-D[-1], -g("fro2")[-2]) if len(D) > 1 else math.nan,
        })
    radial_decay = _get(history, "layer1/radial_decay")[0]  # <W, grad penalty>, from Balance
    if math.isnan(radial_decay):  # no Balance monitor: the norm budget's D says it
        decay = any(_finite(d) and d < 0 for d in _get(history, "layer1/budget_D")[1:])
    else:
        decay = radial_decay > 0
    out = {"settings": settings, "eval_accuracy_final": float(history.last("eval/accuracy")),
           "test_accuracy": test_accuracy, "epochs_run": epochs_run, "decay": decay,
           "n_weights": int(net.n_weights), "layers": layers}
    if facts is not None:
        out["optimizer"] = facts
    return out


DEFINITIONS = (
    "R = (G + Q)/(-D) = 1 + d||W||^2/|D| per epoch, where D, G and Q are the changes of "
    "||W||^2 made by decay, by the gradient and by their second-order term: R ~ 0 while decay "
    "alone sets the norm, R ~ 1 when the gradient balances decay, R < 0 when the gradient "
    "shrinks the layer too. kappa = -<W, grad C0>/<W, grad penalty> (under L2 the denominator is "
    "(lmbda/n)||W||^2), the full-batch gradient's radial pull against decay's, at the end of "
    "an epoch. Decay alone: the RMS within 1% of the optimizer's pure-decay curve and R in "
    "[-0.1, 0.2]; the first epoch that is not is where a layer left the pure-decay curve. "
    "Tail-off: the first epoch with R >= 0.5. Levelled off: R (and kappa + Q/(-D) for plain "
    "SGD) in [0.8, 1.25] over the last 3 epochs. 1/sqrt(n_in) (n_in a layer's inputs) "
    "and 1/sqrt(E|a_in|^2) (a_in a layer's input vector) are reference scales (the second "
    "measured on the layer's current inputs). N = {N} is the number of weights, "
    "n = {n} the training rows.")


def definitions(summary):
    """The definitions of R, kappa, the tail-off notions and N, n for ``summary``'s run.

    Printed by ``wdecay experiment --explain``; the report can show them once.
    """
    return DEFINITIONS.format(N=summary["n_weights"], n=summary["settings"]["n_train"])


def _epochs(k):
    return f"{k} epoch" + ("" if k == 1 else "s")


def _fmt_epoch(x):
    return f"{x:.1f}" if x is not None and not math.isnan(x) else "-"


def _name(L):
    return L["label"][0].upper() + L["label"][1:]


def _verb(L):
    return ("changed" if abs(L["factor"] - 1) < 5e-4 else
            "shrank" if L["factor"] < 1 else "grew")


def _curve_line(L, summary):
    """Decay alone or not, and where it left the pure-decay curve."""
    k, E = L["decay_alone_epochs"], summary["epochs_run"]
    if not L["curve"]:
        return (f"  R = {L['R_epoch1']:.3f} in epoch 1 (no pure-decay curve to compare with for "
                f"this optimizer).")
    if k == 0 and L["left_curve_because"] == "flat":
        return (f"  The pure-decay curve falls only {max(100 * L['curve_fall_epoch1'], 0):.2g}% in "
                f"epoch 1, too little to tell decay from no change within "
                f"{100 * CURVE_TOLERANCE:g}%, so the curve says nothing here; R = "
                f"{L['R_epoch1']:.3f} in epoch 1.")
    if k == 0:
        return (f"  Not decay alone even in epoch 1: R = {L['R_epoch1']:.3f}, the RMS "
                f"{100 * (L['ratio_at_departure'] - 1):+.2f}% off the pure-decay curve "
                f"(decay alone needs R in [{DECAY_BAND[0]:g}, {DECAY_BAND[1]:g}] and the RMS "
                f"within {100 * CURVE_TOLERANCE:g}%).")
    lo, hi = L["R_decay_alone"]
    Rs = f"R = {lo:.3f}" if k == 1 else f"R between {lo:.3f} and {hi:.3f}"
    held = (f"the RMS within {100 * L['max_deviation_while_decay_dominated']:.2f}% of the "
            f"pure-decay curve and {Rs}")
    if k == E:
        span = "in its only epoch" if E == 1 else f"in all {E} epochs"
        return (f"  Decay alone {span}: {held} (curve {L['predicted_rms_final']:.4f}, "
                f"measured {L['rms_final']:.4f}).")
    first = "the first epoch" if k == 1 else f"the first {k} epochs"
    left = (f"  Decay alone for {first} ({held}); it left the pure-decay curve "
            f"in epoch {k + 1}")
    if L["left_curve_because"] == "flat":
        return left + " only in that the curve then moves too little to follow."
    return left + (f" (R = {L['R_at_departure']:.3f}, the RMS "
                   f"{100 * (L['ratio_at_departure'] - 1):+.2f}% off the curve).")


def _tailoff_line(L, summary):
    half, R_end, E = L["R_half_epoch"], L["R_final"], summary["epochs_run"]
    if not math.isnan(L["tailoff_epoch"]):
        return (f"  Tail-off: R reached {TAILOFF_R} in epoch {int(half)}, at RMS "
                f"{L['rms_at_tailoff']:.4f}; R is {R_end:.3f} in epoch {E}.")
    if not math.isnan(half):
        return (f"  R reached {TAILOFF_R} in epoch {int(half)}, but the layer was never decay "
                f"alone before, so that is no tail-off; R is {R_end:.3f} in epoch {E}.")
    now = f"R is {R_end:.3f} in epoch {E}"
    if R_end < NEGLIGIBLE_R:
        why = "the gradient shrinks the layer too"
    elif R_end < 0:
        why = "the gradient gives nothing back (it removes a little as well)"
    else:
        why = "decay still removes more of ||W||^2 than the gradient gives back"
    return f"  No tail-off yet: {now} (< {TAILOFF_R}): {why}."


def _level_line(L, summary):
    E = summary["epochs_run"]
    band = f"{LEVEL_BAND[0]:g}-{LEVEL_BAND[1]:g}"
    if E < LEVEL_EPOCHS:
        return (f"  Too few epochs ({E}) to tell whether it levelled off: that needs R in "
                f"{band} in each of {LEVEL_EPOCHS} epochs.")
    Rs = ", ".join(f"{r:.3f}" for r in L["R_last"])
    first = E - LEVEL_EPOCHS + 1
    if L["levelled"]:
        extra = ""
        if L["kappa_Q_last"]:
            extra = (" and kappa + Q/(-D) " + ", ".join(f"{x:.3f}" for x in L["kappa_Q_last"]))
        return (f"  Levelled off: R {Rs} in epochs {first}-{E}{extra}, all in {band}: the "
                f"gradient balances decay at RMS {L['rms_final']:.4f} (in epoch {E} the gradient "
                f"supplies G/(-D) = {L['G_ratio_final']:.3f} and the second-order term Q/(-D) = "
                f"{L['Q_ratio_final']:.3f} of the balance).")
    return (f"  Not levelled off: R {Rs} in epochs {first}-{E} (levelled off needs R"
            f"{' and kappa + Q/(-D)' if L['kappa_comparable'] else ''} in {band} in each).")


def _why_line(L, summary):
    """Why the layer shrank or grew, from the norm budget's sums only."""
    E, Rall = summary["epochs_run"], L["R_overall"]
    if math.isnan(Rall):
        return []
    over = "in its epoch" if E == 1 else f"over the {E} epochs"
    if Rall < NEGLIGIBLE_R:
        why = (f"{over} the gradient removed {-Rall:.2f} times as much of ||W||^2 as decay did "
               f"(R over the run = sum(G + Q)/sum(-D) = {Rall:.3f})")
    elif Rall < 0:
        why = (f"{over} decay removed ||W||^2 and the gradient gave none back (R over the run "
               f"= sum(G + Q)/sum(-D) = {Rall:.3f})")
    elif Rall <= 1:
        why = (f"{over} the gradient gave back {Rall:.3f} of the ||W||^2 decay removed "
               f"(R over the run = sum(G + Q)/sum(-D))")
    else:
        why = (f"{over} the gradient added {Rall:.3f} times the ||W||^2 decay removed "
               f"(R over the run = sum(G + Q)/sum(-D))")
    parts = []
    if L["R_negative_epochs"]:
        parts.append(f"R < {NEGLIGIBLE_R:g} (the gradient shrank it too) in epoch"
                     f"{'s' if len(L['R_negative_epochs']) > 1 else ''} "
                     f"{_ranges(L['R_negative_epochs'])}")
    if L["R_above_1_epochs"]:
        parts.append(f"R > 1 (the gradient grew it against decay) in epoch"
                     f"{'s' if len(L['R_above_1_epochs']) > 1 else ''} "
                     f"{_ranges(L['R_above_1_epochs'])}")
    line = f"  Why it {_verb(L)}: {why}" + ("; " + "; ".join(parts) if parts else "") + "."
    return [line]


def _kappa_line(L, summary):
    k = L["kappa_final"]
    if math.isnan(k):
        return []
    E = summary["epochs_run"]
    if abs(k) < NEGLIGIBLE_KAPPA:
        now = "the gradient's radial pull is negligible next to decay's"
    elif k < 0:
        now = "the gradient pulls the layer inwards, with decay"
    elif k < 1:
        now = "the gradient pushes outwards, less than decay pulls in"
    else:
        now = "the gradient pushes outwards, more than decay pulls in"
    line = f"  At the end of epoch {E} kappa = {k:.3f}: {now}"
    if not L["kappa_comparable"]:
        line += (" (a property of C0 + penalty; this optimizer's own transforms, such as momentum's"
                 " velocity or Adam's rescaling, change the step, so R differs)")
    return [line + "."]


def _strength(s):
    """What sets the level: ``lmbda/n = 1.25e-3``, or the penalty's own settings over n."""
    if s.get("lmbda") is not None:
        return f"lmbda/n = {s['lmbda'] / s['n_train']:.3g}"
    return f"{decay_text(s)} over n = {s['n_train']}"


def _layer_lines(L, s, summary):
    """The details for one layer."""
    out = [f"{_name(L)}: RMS {_verb(L)} by a factor of {L['factor']:.3f} "
           f"({L['rms_initial']:.4f} -> {L['rms_final']:.4f})."]
    if not summary["decay"]:
        out.append("  No decay in this run, so there is no level set by lmbda/n: the gradient "
                   "alone moved the weights.")
        out.append(f"  The exercise's 1/sqrt(N) = {L['ref_inv_sqrt_N']:.4f} is {L['rms_final'] / L['ref_inv_sqrt_N']:.0f}"
                   " times below the measured RMS; without decay nothing pulls the weights towards it.")
        return out
    out.append(_curve_line(L, summary))
    r1 = L["R_epoch1"]
    if r1 < NEGLIGIBLE_R:
        out.append(f"  R < 0 in epoch 1: the gradient shrank the layer too, removing "
                   f"{-r1:.2f} times as much of ||W||^2 as decay did.")
    plateau = L["predicted_plateau"]
    if plateau is not None:
        noise = " (and, under L2, SGD's noise)" if L.get("predicted_noise", True) else ""
        out.append(f"  Predicted plateau RMS {plateau:.4f}: where decay balances the gradient"
                   f"{noise} near the stationary point of C0 + penalty, "
                   f"set by {_strength(s)} and the data.")
    out.append(_tailoff_line(L, summary))
    out.append(_level_line(L, summary))
    if L["predicted_tailoff_epoch"] is not None:
        tail = L["tailoff_epoch"]
        out.append(f"  Predicted tail-off epoch {_fmt_epoch(L['predicted_tailoff_epoch'])}, "
                   f"measured {int(tail) if not math.isnan(tail) else 'not yet'}.")
    elif L["prediction_reason"]:
        out.append(f"  No tail-off epoch predicted: {L['prediction_reason']}.")
    out += _why_line(L, summary)
    out += _kappa_line(L, summary)
    out.append(f"  The exercise's 1/sqrt(N) = {L['ref_inv_sqrt_N']:.4f} is "
               f"{L['rms_final'] / L['ref_inv_sqrt_N']:.0f} times below the RMS now; the level "
               f"decay stops at is set by lmbda/n and the data, not by N (also 1/sqrt(n_in) = "
               f"{L['ref_inv_sqrt_fan_in']:.4f}, 1/sqrt(E|a_in|^2) = "
               f"{L['ref_inv_sqrt_input_power']:.4f}).")
    if L["cancellation_final"] < 0.2:
        out.append(
            f"  Signed sums cancel: |sum w| is {L['cancellation_final']:.2g} of "
            f"sum|w| = {L['abs_sum_final']:.1f}, so sum w says little about the weights' size; "
            f"np.linalg.norm(W, 1) = {L['induced_l1_final']:.2f} is the largest column sum, "
            f"not sum|w|.")
    return out


def _predicted(optimizer):
    """Whether ``predict_tailoff`` gives ``optimizer`` (None: unknown) a plateau."""
    from .equilibrium import predicts_plateau

    return optimizer is not None and predicts_plateau(optimizer)


def _regularizer_shape(settings):
    """The run's penalty's shape (``Regularizer.convex``: "l2", "l1" or None), from its class."""
    entry = FAMILIES["regularizer"].get(str(settings.get("regularizer")).lower())
    return getattr(entry, "convex", None)


def _run_optimizer(settings):
    """The optimizer the run's settings name, made by its registry with its settings; None if
    the name is not a registered one (``summarize_run`` names an optimizer that no registered
    name makes, such as ``Momentum(decoupled=True)``, by its class name, "Momentum")."""
    name = settings.get("optimizer", "sgd")
    if not isinstance(name, str) or name not in FAMILIES["optimizer"]:
        return None
    try:
        return config.make("optimizer", {**settings, "optimizer": name})
    except (TypeError, ValueError, KeyError):
        return None


def decay_words(optimizer):
    """``(how decay enters, its pure-decay curve in words or None)`` under ``optimizer``.

    The optimizer's class declares them (``decay_words``, by where its decay
    sits); one that declares nothing for its placement gets words read from its
    chain (``decoupled``, :attr:`~wdecay.optim.Optimizer.decay_curve`). The
    summary prefixes "coupled" or "decoupled".

    Examples
    --------
    >>> from wdecay.optim import Optimizer
    >>> from wdecay import transforms as T
    >>> decay_words(Optimizer(core=[T.trace(0.5)], decoupled=False))[1]
    "the optimizer's chain stepped on the penalty's gradient alone"
    """
    words = declaration(optimizer, "decay_words")
    if words is not None:
        return words
    if optimizer.decay_curve == "step":
        how = ("the penalty's decay step acts on the weights apart from the optimizer's own "
               "step, whatever the gradients" if optimizer.decoupled else
               "the penalty's gradient is added to the cost's, with no transform of the "
               "optimizer's own")
        return how, "the decay step alone, as for SGD"
    if optimizer.decay_curve == "coupled":
        return ("the penalty's gradient goes through the optimizer's linear transforms with "
                "the cost's", "the optimizer's chain stepped on the penalty's gradient alone")
    return ("the penalty's gradient goes through the optimizer's transforms with the cost's, "
            "and they depend on the gradient", None)


def optimizer_facts(optimizer):
    """What the summary's sentences read of ``optimizer``, as plain data.

    ``{"decoupled": bool, "transforms": whether it has transforms of its own, "how": ...,
    "curve": ...}``, the last two :func:`decay_words`.

    Examples
    --------
    >>> from wdecay.optim import SGD
    >>> optimizer_facts(SGD(decoupled=False))["how"]
    "the penalty's gradient is added to the cost's, with no transform of the optimizer's own"
    """
    how, curve = decay_words(optimizer)
    return {"decoupled": bool(optimizer.decoupled), "transforms": bool(optimizer.core()),
            "how": how, "curve": curve}


def _optimizer_lines(summary):
    """What a non-Nielsen optimizer did to decay, and which pure-decay curve it has."""
    s = summary["settings"]
    name = s.get("optimizer", "sgd")
    facts = summary.get("optimizer")
    if facts is None:
        optimizer = _run_optimizer(s)
        facts = None if optimizer is None else optimizer_facts(optimizer)
    if facts is None or (facts["decoupled"] and not facts["transforms"]):  # Nielsen's update
        return []
    how, curve = facts["how"], facts["curve"]
    shares = ", ".join(f"{100 * L['decay_fraction_last']:.3g}% of layer {L['layer']}'s"
                       for L in summary["layers"])
    line = (f"  Optimizer {name}, {'decoupled' if facts['decoupled'] else 'coupled'}: {how}. "
            f"In the last epoch decay removed {shares} ||W||^2 (-D/||W||^2).")
    L1 = summary["layers"][0]
    if curve is None or not L1["curve"]:
        line += (" This optimizer has no pure-decay curve: what decay does in a step depends on "
                 "the cost's gradient, so the summary reads R only.")
    else:
        line += (f" Its pure-decay curve is {curve}: it removes "
                 f"{100 * (1 - (1 - L1['curve_fall_epoch1']) ** 2):.3g}% of layer 1's ||W||^2 "
                 f"in epoch 1.")
    return [line]


#: The order of the options in :func:`_command`; each setting's option is ``--`` and its
#: name with ``-`` for ``_``. At ``*``: every registered optimizer's settings (momentum, beta1,
#: beta2), then the other settings the run's classes declare.
COMMAND_ORDER = ("sizes", "init", "cost", "activation", "regularizer", "lmbda", "eta",
                 "optimizer", "*", "batch_size", "seed", "epochs")


def _declared_settings(settings):
    """The settings the run's classes declare: regularizer's, optimizer's, initializer's, cost's."""
    keys = []
    for family in ("regularizer", "optimizer", "init", "cost"):
        name = settings.get(family)
        registry = FAMILIES[family]
        if isinstance(name, str) and name.lower() in registry:
            keys += [k for k in getattr(registry[name.lower()], "hyperparameters", {})
                     if k not in keys]
    return keys


def _command(settings, **extra):
    """The ``wdecay experiment`` command of ``settings`` with ``extra`` options."""
    merged = {**settings, **extra}
    star = [k for k in FAMILIES["optimizer"].settings() if k not in COMMAND_ORDER]
    star += [k for k in _declared_settings(merged) if k not in COMMAND_ORDER and k not in star]
    keys = [k for key in COMMAND_ORDER for k in (star if key == "*" else [key])]
    defaults = {**DEFAULTS, **settings_of(merged)}
    words = ["wdecay", "experiment"]
    dataset = settings.get("dataset")
    if dataset and dataset != "mnist-sample":
        words += ["--dataset", dataset]
    for key in keys:
        flag = "--" + key.replace("_", "-")
        value = merged.get(key, defaults.get(key))
        if value is None:
            continue
        if value != defaults.get(key) or key in extra:
            text = " ".join(map(str, value)) if isinstance(value, list) else f"{value:g}" \
                if isinstance(value, float) else str(value)
            words += [flag, text]
    return " ".join(words)


def _is_default_run(settings):
    return (settings.get("dataset", "mnist-sample") == "mnist-sample"
            and settings.get("n_train") == 4000
            and all(k in settings and settings[k] == v for k, v in DEFAULTS.items()
                    if k != "epochs"))


def _next_command(summary):
    """The one command that gets the level, if this run stopped before it (else None)."""
    s = summary["settings"]
    if not summary["decay"] or all(L["levelled"] for L in summary["layers"]):
        return None
    if any(L["predicted_plateau"] is not None for L in summary["layers"]):
        return None
    if str(s.get("regularizer")).lower() not in FAMILIES["regularizer"] or any(
            s.get(family, DEFAULTS[family]) not in FAMILIES[family] for family in ("init", "cost")):
        return None  # a class the command line does not know by name
    if _is_default_run(s) and summary["epochs_run"] < DEFAULT_LEVEL_EPOCHS:
        return (_command(s, epochs=DEFAULT_LEVEL_EPOCHS),
                f"every layer has levelled off by epoch {DEFAULT_LEVEL_EPOCHS}")
    name, optimizer = s.get("optimizer", "sgd"), _run_optimizer(s)
    if _predicted(optimizer) and s.get("lmbda") is not None:  # the prediction reads it
        return (_command(s) + " --predict",
                "before training it predicts each layer's plateau and tail-off, or says why "
                "it cannot; it takes seconds to a minute")
    steps = -(-int(s["n_train"]) // int(s["batch_size"]))
    # decoupled L2 alone multiplies the weights by 1 - eta lmbda/n per step, whatever the chain
    if optimizer is not None and optimizer.decoupled and optimizer.core() \
            and _regularizer_shape(s) == "l2" and (s.get("lmbda") or 0) > 0:
        tau = s["n_train"] / (s["eta"] * s["lmbda"])  # 1/(eta lmbda/n) steps
        return (_command(s, epochs=int(math.ceil(3 * tau / steps))),
                f"wdecay predicts no level for {name}; its decoupled decay alone shrinks the "
                f"weights by a factor e in 1/(eta lmbda/n) = {tau:,.0f} steps "
                f"({tau / steps:,.0f} epochs), so a level needs a run several times that long")
    return None


def _short_answer(summary):
    """Three to five plain lines: did decay tail off, when, at what level, why the output grew."""
    E = summary["epochs_run"]
    layers = summary["layers"]
    first, out = layers[0], layers[-1]
    lines = []
    if first["decay_alone_epochs"] >= 1:
        k = first["decay_alone_epochs"]
        if k == E:
            left = f"followed decay alone for all {_epochs(E)}" if E > 1 else \
                "followed decay alone in its only epoch"
        else:
            left = (f"followed decay alone for {_epochs(k)} (left the pure-decay curve in "
                    f"epoch {k + 1})")
    elif first["left_curve_because"] == "flat" or not first["curve"]:
        left = "cannot be compared with a pure-decay curve (see below)"
    else:
        left = "was not decay alone even in epoch 1"
    if not math.isnan(first["tailoff_epoch"]):
        tail = f"tailed off (R reached {TAILOFF_R}) in epoch {int(first['tailoff_epoch'])}"
    elif not math.isnan(first["R_half_epoch"]):
        tail = (f"had no tail-off (R reached {TAILOFF_R} in epoch "
                f"{int(first['R_half_epoch'])} without a decay-alone phase)")
    else:
        tail = f"has not tailed off (R = {first['R_final']:.3f} < {TAILOFF_R} in epoch {E})"
    if first["levelled"]:
        level = f"levelled off at RMS {first['rms_final']:.4f}"
    elif E < LEVEL_EPOCHS:
        level = (f"whether it levelled off needs {LEVEL_EPOCHS} epochs to tell "
                 f"(RMS {first['rms_final']:.4f} now)")
    else:
        level = f"has not levelled off (RMS {first['rms_final']:.4f} now)"
    lines.append(f"In short: {first['label']} {left}; it {tail} and {level}.")
    n_weights = round(first["ref_inv_sqrt_N"] ** -2)  # N, all the weights
    lines.append(f"  The exercise's 1/sqrt(N) = {first['ref_inv_sqrt_N']:.4f} (N = {n_weights:,} "
                 f"weights): that RMS is "
                 f"{first['rms_final'] / first['ref_inv_sqrt_N']:.0f} times above it; the level "
                 f"is set by lmbda/n and the data, not by N.")
    if out is not first and not math.isnan(out["R_overall"]):
        Rall = out["R_overall"]
        if Rall > 1:
            why = (f"the gradient added {Rall:.3f} times the ||W||^2 decay removed "
                   f"(R > 1 in {len(out['R_above_1_epochs'])} of its {_epochs(E)})")
        elif Rall >= 0:
            why = f"the gradient gave back {Rall:.3f} of the ||W||^2 decay removed"
        elif Rall >= NEGLIGIBLE_R:
            why = "decay removed ||W||^2 and the gradient gave none back"
        else:
            why = f"the gradient removed {-Rall:.2f} times as much ||W||^2 as decay"
        reason = ""
        if out["levelled"] and out["factor"] > 1:
            reason = (f"; it levelled off at RMS {out['rms_final']:.4f}, where the gradient "
                      f"balances decay, so that level lies above its start "
                      f"({out['rms_initial']:.4f}): it grew towards it")
        elif out["levelled"] and out["factor"] < 1:
            reason = (f"; it levelled off at RMS {out['rms_final']:.4f}, where the gradient "
                      f"balances decay, below its start ({out['rms_initial']:.4f})")
        lines.append(f"  The output layer, {out['label']}, {_verb(out)} by a factor of "
                     f"{out['factor']:.3f}: {why}{reason}.")
    if first["predicted_plateau"] is not None and not first["levelled"]:
        epoch = first["predicted_tailoff_epoch"]
        lines.append(f"  The run stopped before the level; predicted before training: "
                     f"{first['label']} levels off near RMS {first['predicted_plateau']:.4f}"
                     + (f", tailing off in epoch {_fmt_epoch(epoch)}" if epoch is not None
                        else "") + ".")
    nxt = _next_command(summary)
    if nxt is not None:
        verb = "to predict it" if nxt[0].endswith("--predict") else "to reach it"
        lines.append(f"  The run stopped before the level; {verb}: {nxt[0]} ({nxt[1]}).")
    return lines


def decay_text(settings):
    """The run's penalty in a few words: ``"L2 lmbda=5"``, or each setting its class declares.

    Examples
    --------
    >>> decay_text({"regularizer": "l1", "lmbda": 0.5})
    'L1 lmbda=0.5'
    """
    s = settings
    keys = [k for k in _declared_settings({"regularizer": s["regularizer"]}) if k in s]
    if not keys and s.get("lmbda") is not None:
        keys = ["lmbda"]
    return " ".join([s["regularizer"].upper()] + [f"{k}={s[k]:g}" for k in keys])


def summary_text(summary, explain=False):
    """The summary in sentences: a short answer, then the details per layer.

    ``explain`` adds the definitions of R, kappa and the tail-off notions
    (:func:`definitions`).
    """
    s = summary["settings"]
    reg = "no decay" if not summary["decay"] else decay_text(s)
    lines = [f"{reg}, eta={s['eta']:g}, batch {s['batch_size']}, {_epochs(s['epochs'])}, seed "
             f"{s['seed']}: test accuracy {summary['test_accuracy']:.4f} (validation "
             f"{summary['eval_accuracy_final']:.4f})."]
    if summary["epochs_run"] == 0:
        lines.append("No epochs were run: the weights are the initial ones, so there is nothing "
                     "to say yet about what decay does to them.")
        return "\n".join(lines)
    if summary["decay"]:
        lines += _short_answer(summary)
        if explain:
            lines.append("  " + definitions(summary))
        lines += _optimizer_lines(summary)
    for L in summary["layers"]:
        lines += _layer_lines(L, s, summary)
    nxt = _next_command(summary) if summary["decay"] else None
    if nxt is not None:
        lines.append(f"{'To predict' if nxt[0].endswith('--predict') else 'To reach'} the level: "
                     f"{nxt[0]}")
    return "\n".join(lines)
