"""Plots of histories and regularization paths (needs the ``plot`` extra: matplotlib).

Every function returns a ``matplotlib.figure.Figure`` and, given ``path``,
also saves it as PNG. Figures are made without pyplot, so they work headless
and in notebooks alike. matplotlib is imported only inside these functions.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

EXTRA_HINT = 'plots need matplotlib: pip install "wdecay[plot]"'


def _figure(ncols=1, width=5.0, height=3.6):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(EXTRA_HINT) from exc
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def layers_of(history):
    """Layer numbers that have an ``rms`` record, e.g. [1, 2]."""
    found = {int(m.group(1)) for k in history.keys() if (m := re.fullmatch(r"layer(\d+)/rms", k))}
    return sorted(found)


def _colors(n):
    return [f"C{i % 10}" for i in range(n)]


def has_decay(history):
    """False when the history's norm budget shows no decay step (R undefined in every layer)."""
    ratios = [np.asarray(history[f"layer{l}/R"], dtype=float) for l in layers_of(history)
              if f"layer{l}/R" in history]
    return not ratios or any(np.isfinite(R).any() for R in ratios)


def _integer_epochs(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def readable_log_axis(ax, axis="y"):
    """Tick labels on a log axis that never overlap and read as plain numbers.

    matplotlib labels minor ticks on a log axis that spans less than a decade
    or two (``9x10^-1`` beside ``10^0``), and those labels collide. Over
    less than a decade, ticks are placed as on a linear axis and printed
    in one decimal format; up to three decades, 1, 2 and 5 times each power
    of ten are labelled as plain numbers; over more, only the decades.
    """
    from matplotlib.ticker import (FuncFormatter, LogFormatterSciNotation, LogLocator, MaxNLocator,
                                   NullFormatter, NullLocator, StrMethodFormatter)

    which = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    if lo > 0 and hi / lo < 10:
        which.set_major_locator(MaxNLocator(nbins=6))
        which.set_minor_locator(NullLocator())
        ticks = [t for t in which.get_major_locator().tick_values(lo, hi) if lo <= t <= hi]
        step = min((b - a for a, b in zip(ticks, ticks[1:])), default=1.0)
        decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
        which.set_major_formatter(StrMethodFormatter(f"{{x:.{decimals}f}}"))
    elif lo > 0 and hi / lo < 1000:
        which.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        which.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        which.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10)))
        which.set_minor_formatter(NullFormatter())
    else:
        which.set_major_locator(LogLocator(base=10))
        which.set_major_formatter(LogFormatterSciNotation())
        which.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10)))
        which.set_minor_formatter(NullFormatter())


def _sizes(summary):
    settings = (summary or {}).get("settings") or {}
    return settings.get("sizes")


def _names(summary):
    return (summary or {}).get("layer_names")


def layer_name(l, sizes=None, names=None):
    """Both names of weight matrix ``l``: wdecay's index and the book's (with its shape if known).

    With ``names`` (a run's ``layer_names``, e.g. a torch run's tensor names),
    the tensor's own name instead of the book's.

    >>> layer_name(1, [784, 30, 10])
    "layer 1 (the book's w^2, 784 -> 30)"
    >>> layer_name(2)
    "layer 2 (the book's w^3)"
    >>> layer_name(3, names={3: "ln.weight"})
    'layer 3 = ln.weight'
    """
    from .naming import book_name, layer_label

    if names and l in names:
        return f"layer {l} = {names[l]}"
    if sizes is not None and 1 <= l < len(sizes):
        return layer_label(l, sizes)
    return f"layer {l} (the book's {book_name(l)})"


def _summary_layer(summary, l):
    for L in (summary or {}).get("layers") or ():
        if L.get("layer") == l:
            return L
    return {}


def _number(value):
    """``value`` as a finite float, or None (None, NaN, missing)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def prediction_of(summary, l):
    """``(plateau RMS, tail-off epoch)`` that ``--predict`` put in the summary for layer ``l``.

    Each is None where there is no prediction (no ``summary``, no ``--predict``,
    or a layer the prediction does not apply to).
    """
    L = _summary_layer(summary, l)
    return _number(L.get("predicted_plateau")), _number(L.get("predicted_tailoff_epoch"))


def tailoff_of(summary, l):
    """The tail-off epoch the summary states for layer ``l``, or None (none, or no summary).

    A tail-off ends a decay-alone phase: a layer that was never decay alone has
    none, even when its R reached 0.5 (:func:`wdecay.summary.summarize` decides).
    """
    return _number(_summary_layer(summary, l).get("tailoff_epoch"))


def _first_half(history, l):
    """The first epoch with R >= 0.5 (``NormBudget``'s ``tailoff_epoch`` key), or None."""
    key = f"layer{l}/tailoff_epoch"
    return _number(history.last(key)) if key in history else None


#: Line style of each layer's pure-decay curve: the curves of layers that start
#: at the same RMS lie on top of each other, so each gets its own dashes and markers.
PURE_DECAY_STYLES = (dict(ls="--", marker=None), dict(ls=(0, (1, 2)), marker="o", mfc="none"),
                     dict(ls="-.", marker="s", mfc="none"), dict(ls=(0, (5, 1, 1, 1)), marker="^",
                                                                 mfc="none"))


def _pure_decay_tail(epochs, predicted, until):
    """The pure-decay curve continued geometrically from its last epoch up to ``until``."""
    e = np.asarray(epochs, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if len(p) < 2 or not (p[-1] > 0 and p[-2] > 0) or until <= e[-1]:
        return None, None
    per_epoch = p[-1] / p[-2]
    extra = np.linspace(e[-1], until, 30)
    return extra, p[-1] * per_epoch ** (extra - e[-1])


def layer_norms(history, path=None, summary=None):
    """Per-layer RMS against epoch (log scale), with the pure-decay curve and the predictions.

    Solid: measured RMS; dashed (a different dash and marker per layer, since
    layers that start at the same RMS share one curve): the pure-decay
    prediction (``DecayPrediction``); black dotted: the exercise's 1/sqrt(N).
    With a ``summary`` made with ``--predict``, each layer's predicted plateau
    is a dash-dotted level and its predicted tail-off epoch a star on it; the
    x-axis then reaches the predicted tail-off, and the pure-decay curve is
    continued (thin) up to it. Layers are named both ways (wdecay's index and
    the book's w^(l+1)). A run without decay has no prediction to draw; its
    title says so.
    """
    fig, (ax,) = _figure(width=6.5, height=4.8)
    epochs = history["epoch"]
    decay = has_decay(history)
    sizes = _sizes(summary)
    right = float(max(epochs)) if len(epochs) else 1.0
    for i, (l, color) in enumerate(zip(layers_of(history), _colors(9))):
        name = layer_name(l, sizes, _names(summary))
        ax.plot(epochs, history[f"layer{l}/rms"], color=color, lw=2, label=f"{name}: RMS")
        plateau_rms, t_star = prediction_of(summary, l) if decay else (None, None)
        if f"layer{l}/predicted_rms" in history and decay:
            style = PURE_DECAY_STYLES[i % len(PURE_DECAY_STYLES)]
            every = max(1, len(epochs) // 8)
            ax.plot(epochs, history[f"layer{l}/predicted_rms"], color=color, lw=1.2, ms=5,
                    markevery=(i % every, every), label=f"layer {l}: pure decay", **style)
            if t_star is not None:
                x, y = _pure_decay_tail(epochs, history[f"layer{l}/predicted_rms"], t_star)
                if x is not None:
                    ax.plot(x, y, color=color, lw=0.8, ls=style["ls"], alpha=0.7)
        if plateau_rms is not None:
            ax.axhline(plateau_rms, color=color, ls="-.", lw=1,
                       label=f"layer {l}: predicted plateau {plateau_rms:.4f}")
            if t_star is not None:
                ax.plot([t_star], [plateau_rms], marker="*", ms=13, color=color, mec="k",
                        ls="none", label=f"layer {l}: predicted tail-off, epoch {t_star:.1f}")
                right = max(right, t_star)
    if "layer1/ref_inv_sqrt_N" in history:
        value = history["layer1/ref_inv_sqrt_N"][-1]
        ax.axhline(value, color="k", ls=":", lw=1,
                   label=f"the exercise's 1/sqrt(N) = {value:.4f}")
    ax.set_xlim(min(epochs) if len(epochs) else 0, right * 1.04 if right > 0 else 1)
    ax.set_yscale("log")
    readable_log_axis(ax)
    _integer_epochs(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("weight RMS (log scale)")
    ax.set_title("Weight RMS per layer" + ("" if decay else " (no decay in this run)"))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7)
    return _finish(fig, path)


def sum_vs_abs(history, path=None, summary=None):
    """Sum |w| against |sum w| per layer on a log scale: the signed sum hides the size.

    In a layer of 23,520 weights, sum |w| is in the tens of thousands while the
    signed sum, whose terms cancel, stays near zero; on a linear axis the
    signed sum is a flat line. The log scale shows both; hollow markers
    mark epochs where sum w is negative. ``norm(W, 1)`` (numpy's induced
    1-norm, the largest column sum of |w|) is drawn too: it is not sum |w|.
    """
    layers = layers_of(history)
    sizes = _sizes(summary)
    fig, axes = _figure(ncols=len(layers), height=4.3)
    epochs = np.asarray(history["epoch"])
    for ax, l in zip(axes, layers):
        ax.plot(epochs, history[f"layer{l}/abs_sum"], lw=2, color="C0", label="\u03a3|w|")
        signed = np.asarray(history[f"layer{l}/sum"], dtype=float)
        size = np.where(signed != 0, np.abs(signed), np.nan)
        ax.plot(epochs, size, lw=1.5, color="C1", label="|\u03a3w|")
        positive, negative = signed > 0, signed < 0
        ax.plot(epochs[positive], size[positive], "o", color="C1", ms=5, label="\u03a3w > 0")
        ax.plot(epochs[negative], size[negative], "o", mfc="white", mec="C1", ms=5,
                label="\u03a3w < 0")
        if f"layer{l}/induced_l1" in history:
            ax.plot(epochs, history[f"layer{l}/induced_l1"], lw=1, ls="--", color="C2",
                    label="norm(W, 1): max column \u03a3|w|")
        ax.set_yscale("log")
        readable_log_axis(ax)
        _integer_epochs(ax)
        ax.set_xlabel("epoch")
        ax.set_ylabel("sum over the layer's weights (log scale)")
        ax.set_title(f"{layer_name(l, sizes, _names(summary))}:\n\u03a3|w| against |\u03a3w|", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=5, fontsize=8)
    return _finish(fig, path)


R_CAPTION = ("R = (G + Q)/(\u2212D): how much the gradient steps change the squared norm, "
             "against the shrinkage D < 0 that decay causes.\n"
             "R \u2248 0: decay alone sets the norm;  R = 1: balance;  "
             "R > 1: the gradient grows the layer;  R < 0: the gradient also shrinks it.")


R_CLIP = (-1.0, 3.0)


def _clip_outliers(ax, epochs, curves, low, high):
    """Fix the y range to what the data need within [low, high]; mark and label points beyond it."""
    values = np.concatenate([R[np.isfinite(R)] for R, _ in curves] + [np.array([0.0, 1.0])])
    bottom, top = max(values.min(), low), min(values.max(), high)
    pad = 0.06 * (top - bottom)
    ax.set_ylim(bottom - pad, top + pad)
    for R, color in curves:
        for e, r in zip(epochs, R):
            if r < low or r > high:
                edge = low if r < low else high
                ax.plot([e], [edge], "v" if r < low else "^", color=color, ms=8)
                ax.annotate(f"R = {r:.2f} (off scale)".replace("-", "\u2212"), (e, edge),
                            textcoords="offset points",
                            xytext=(8, 4 if r < low else -10), fontsize=7, color=color,
                            bbox=dict(fc="white", ec="none", alpha=0.85, pad=1))


def norm_budget(history, path=None, threshold=0.5, summary=None):
    """The norm-budget ratio R = (G + Q)/(-D) per layer against epoch, with the tail-off marked.

    R is the gradient's share of the epoch's change of the squared norm, against
    the decay's shrinkage -D (see :class:`wdecay.monitors.NormBudget`): about
    0 while decay alone sets the norm, 1 at balance, negative when the
    gradient also shrinks the layer. Values outside ``R_CLIP`` (an early epoch
    can give R = -2.8) are drawn at the axis edge as triangles labelled with
    their value, so that the curves near 0 and 1 stay readable. With the
    run's ``summary``, a dashed vertical line marks each tail-off the summary
    states (:func:`tailoff_of`: a layer that was never decay alone has none,
    even where its R reached 0.5), and a dotted one the predicted tail-off epoch
    of ``--predict``, with the x-axis reaching it; without a summary, the dashed
    line marks the first epoch R reached 0.5. A run without decay has no R: the plot says so instead of
    drawing nothing.
    """
    fig, (ax,) = _figure(width=6.4, height=4.8)
    epochs = history["epoch"]
    sizes = _sizes(summary)
    drawn = []
    right = float(max(epochs)) if len(epochs) else 1.0
    for l, color in zip(layers_of(history), _colors(9)):
        if f"layer{l}/R" not in history:
            continue
        R = np.asarray(history[f"layer{l}/R"], dtype=float)
        if not np.isfinite(R).any():
            continue
        drawn.append((R, color))
        ax.plot(epochs, np.clip(R, *R_CLIP), color=color, lw=2, marker=".",
                label=layer_name(l, sizes, _names(summary)))
        if summary is not None:  # the summary says which crossing of 0.5 is a tail-off
            tail = tailoff_of(summary, l)
            if tail is not None:
                ax.axvline(tail, color=color, ls="--", lw=1,
                           label=f"layer {l}: tail-off, R \u2265 {threshold:g} from epoch {int(tail)}")
        elif _first_half(history, l) is not None:
            first = _first_half(history, l)
            ax.axvline(first, color=color, ls="--", lw=1,
                       label=f"layer {l}: R \u2265 {threshold:g} from epoch {int(first)}")
        _, t_star = prediction_of(summary, l)
        if t_star is not None:
            ax.axvline(t_star, color=color, ls=":", lw=1.5,
                       label=f"layer {l}: predicted tail-off, epoch {t_star:.1f}")
            right = max(right, t_star)
    ax.set_xlabel("epoch")
    ax.set_ylabel("R = (G + Q)/(\u2212D)")
    _integer_epochs(ax)
    if not drawn:
        ax.text(0.5, 0.5, "no decay in this run:\nR is undefined without a decay step (D = 0)",
                ha="center", va="center", transform=ax.transAxes, fontsize=11)
        ax.set_yticks([])
        if len(epochs) > 1:
            ax.set_xlim(min(epochs), max(epochs))
        ax.set_title("Norm budget: no decay in this run")
        fig.supxlabel(R_CAPTION, fontsize=7)
        return _finish(fig, path)
    ax.axhline(threshold, color="k", ls=":", lw=1, label=f"R = {threshold:g} (tail-off threshold)")
    ax.axhline(1.0, color="grey", ls="--", lw=0.8, label="R = 1 (balance)")
    ax.axhline(0.0, color="grey", lw=0.5)
    _clip_outliers(ax, epochs, drawn, low=R_CLIP[0], high=R_CLIP[1])
    ax.set_xlim(min(epochs), right * 1.04 if right > 0 else 1)
    ax.set_title("Norm budget R per layer: gradient against decay")
    ax.legend(fontsize=7)
    fig.supxlabel(R_CAPTION, fontsize=7)
    return _finish(fig, path)


QUANTITIES = {"rms": "RMS", "l1": "\u03a3|w|", "abs_sum": "\u03a3|w|", "sum": "\u03a3w",
              "var": "variance", "R": "R = (G+Q)/(\u2212D)", "fro": "Frobenius norm",
              "predicted_rms": "pure-decay RMS"}


def describe(key):
    """A readable name for a history key: ``"layer1/rms"`` -> ``"layer 1 (the book's w^2) RMS"``."""
    m = re.fullmatch(r"layer(\d+)/(.+)", key)
    if m:
        return f"{layer_name(int(m.group(1)))} {QUANTITIES.get(m.group(2), m.group(2))}"
    return key.replace("/", " ")


def overlay(histories, key="layer1/rms", path=None, log=True):
    """One curve per run: ``histories`` maps a label (e.g. 'lmbda=5') to a History."""
    fig, (ax,) = _figure(width=6.0)
    for label, h in histories.items():
        ax.plot(h["epoch"], h[key], lw=2, label=str(label))
    if log:
        ax.set_yscale("log")
        readable_log_axis(ax)
    _integer_epochs(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel(describe(key) + (" (log scale)" if log else ""))
    ax.set_title(f"{describe(key)} for each run")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def coefficient_paths(path_result, path=None, max_lines=400):
    """Each weight of a convex regularization path against lmbda (log x)."""
    fig, (ax,) = _figure(width=6.0)
    coef = path_result.coefficients
    keep = np.argsort(-np.abs(coef).max(axis=0))[:max_lines]
    # one LineCollection, not one Line2D per weight: the same lines in the same colour
    # cycle, drawn several times faster when there are hundreds
    from matplotlib.collections import LineCollection

    x = np.broadcast_to(np.asarray(path_result.lmbdas, dtype=float)[:, None], (len(coef), len(keep)))
    ax.add_collection(LineCollection(np.stack([x, coef[:, keep]], axis=-1).transpose(1, 0, 2),
                                     colors=_colors(len(keep)), linewidths=0.8))
    ax.set_xscale("log")
    ax.autoscale_view()
    ax.set_xlabel("lmbda (log scale)")
    ax.set_ylabel("coefficient")
    ax.set_title("Coefficient paths" + (f" (largest {max_lines})" if coef.shape[1] > max_lines else ""))
    return _finish(fig, path)


def path_norm(path_result, path=None):
    """The optimum's sum w^2 and sum |w| against lmbda: never increasing in the convex case."""
    fig, (ax,) = _figure(width=6.0)
    ax.plot(path_result.lmbdas, path_result.l2_norm2, lw=2, label="\u03a3w\u00b2")
    ax.plot(path_result.lmbdas, path_result.l1_norm, lw=2, label="\u03a3|w|")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lmbda (log scale)")
    ax.set_ylabel("norm of the optimum (log scale)")
    ax.set_title("Total norm along the path")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def path_costs(path_result, path=None):
    """Training (and evaluation) cost of the optimum against lmbda."""
    fig, (ax,) = _figure(width=6.0)
    ax.plot(path_result.lmbdas, path_result.train_cost, lw=2, label="training cost C0")
    if path_result.eval_cost is not None:
        ax.plot(path_result.lmbdas, path_result.eval_cost, lw=2, label="evaluation cost")
    ax.set_xscale("log")
    ax.set_xlabel("lmbda (log scale)")
    ax.set_ylabel("mean cost (unregularized)")
    ax.set_title("Cost along the path")
    ax.legend(fontsize=8)
    return _finish(fig, path)


#: The plots of a convex regularization path, by file name (without ``.png``).
PATH_PLOTS = {"coefficient_paths": coefficient_paths, "path_norm": path_norm,
              "path_costs": path_costs}


def path_plots(path_result, folder):
    """Write the :data:`PATH_PLOTS` of ``path_result`` into ``folder``; return ``{name: path}``."""
    paths = {}
    for name, draw in PATH_PLOTS.items():
        paths[name] = os.path.join(folder, f"{name}.png")
        draw(path_result, path=paths[name])
    return paths


REFERENCE_STYLES = (("k", ":"), ("C1", "--"), ("C2", "-."), ("C3", (0, (1, 4))),
                    ("C4", (0, (5, 2, 1, 2))))
"""Colour and line style of each reference level, in order: no two alike."""


def plateau(lmbda_over_n, plateau_rms, references=None, path=None):
    """Plateau RMS against lmbda/n on log-log axes, with horizontal reference levels.

    Each reference level (``{name: value}``) gets its own colour and line
    style, in the order given.
    """
    fig, (ax,) = _figure(width=6.0)
    ax.loglog(lmbda_over_n, plateau_rms, "o-", lw=2, label="first-layer plateau RMS")
    refs = list((references or {}).items())
    if len(refs) > len(REFERENCE_STYLES):
        raise ValueError(f"`references` takes at most {len(REFERENCE_STYLES)} levels, got {len(refs)}")
    for (name, value), (color, ls) in zip(refs, REFERENCE_STYLES):
        ax.axhline(value, ls=ls, lw=1.2, color=color, label=name)
    readable_log_axis(ax, "x")
    readable_log_axis(ax, "y")
    ax.set_xlabel("lmbda / n (log scale)")
    ax.set_ylabel("plateau RMS of layer 1 (log scale)")
    ax.set_title("Where weight decay levels off")
    ax.legend(fontsize=8)
    return _finish(fig, path)
