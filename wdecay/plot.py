"""Plots of histories and regularization paths (needs the ``plot`` extra: matplotlib).

Every function returns a ``matplotlib.figure.Figure`` and, given ``path``,
also saves it as PNG. Figures are made without pyplot, so they work headless
and in notebooks alike. matplotlib is imported only inside these functions.
"""

from __future__ import annotations

import math
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
    found = {int(m.group(1)) for k in history.keys if (m := re.fullmatch(r"layer(\d+)/rms", k))}
    return sorted(found)


def _colors(n):
    return [f"C{i % 10}" for i in range(n)]


def layer_norms(history, path=None):
    """Per-layer RMS against epoch (log scale), with the pure-decay prediction and reference levels.

    Solid: measured RMS; dashed: the pure-decay prediction (``DecayPrediction``);
    dotted: 1/sqrt(E|a_in|^2), 1/sqrt(n_in) and 1/sqrt(N) for each layer.
    """
    fig, (ax,) = _figure(width=6.5, height=4.2)
    epochs = history["epoch"]
    for l, color in zip(layers_of(history), _colors(9)):
        ax.plot(epochs, history[f"layer{l}/rms"], color=color, lw=2, label=f"layer {l} RMS")
        if f"layer{l}/predicted_rms" in history:
            ax.plot(epochs, history[f"layer{l}/predicted_rms"], color=color, ls="--", lw=1,
                    label=f"layer {l} pure decay")
        for key, ls, name in (("ref_inv_sqrt_input_power", ":", "1/sqrt(E|a_in|^2)"),
                              ("ref_inv_sqrt_fan_in", (0, (1, 4)), "1/sqrt(n_in)")):
            if f"layer{l}/{key}" in history:
                ax.axhline(history[f"layer{l}/{key}"][-1], color=color, ls=ls, lw=1,
                           label=f"layer {l} {name}")
    if "layer1/ref_inv_sqrt_N" in history:
        ax.axhline(history["layer1/ref_inv_sqrt_N"][-1], color="k", ls=":", lw=1, label="1/sqrt(N)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weight RMS")
    ax.set_title("Weight RMS per layer")
    ax.legend(fontsize=7, ncol=2)
    return _finish(fig, path)


def sum_vs_abs(history, path=None):
    """Signed sum sum(w) against absolute sum sum|w| per layer: the signed sum hides the size."""
    layers = layers_of(history)
    fig, axes = _figure(ncols=len(layers))
    epochs = history["epoch"]
    for ax, l in zip(axes, layers):
        ax.plot(epochs, history[f"layer{l}/abs_sum"], lw=2, label="sum |w|")
        ax.plot(epochs, history[f"layer{l}/sum"], lw=2, label="sum w")
        if f"layer{l}/induced_l1" in history:
            ax.plot(epochs, history[f"layer{l}/induced_l1"], lw=1, ls="--",
                    label="norm(W, 1) (max column sum)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel("sum over the layer's weights")
        ax.set_title(f"layer {l}: signed vs absolute sum")
        ax.legend(fontsize=7)
    return _finish(fig, path)


def norm_budget(history, path=None, threshold=0.5):
    """The norm-budget ratio R = (G + Q)/(-D) per layer against epoch, with the tail-off marked."""
    fig, (ax,) = _figure(width=6.0)
    epochs = history["epoch"]
    for l, color in zip(layers_of(history), _colors(9)):
        if f"layer{l}/R" not in history:
            continue
        ax.plot(epochs, history[f"layer{l}/R"], color=color, lw=2, marker=".", label=f"layer {l}")
        tail = history[f"layer{l}/tailoff_epoch"][-1]
        if not math.isnan(tail):
            ax.axvline(tail, color=color, ls="--", lw=1, label=f"layer {l} tail-off (epoch {int(tail)})")
    ax.axhline(threshold, color="k", ls=":", lw=1, label=f"R = {threshold}")
    ax.axhline(1.0, color="grey", ls=":", lw=1, label="R = 1 (equilibrium)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("R = (G + Q) / (-D)")
    ax.set_title("Norm budget: gradient against decay")
    ax.legend(fontsize=7)
    return _finish(fig, path)


def overlay(histories, key="layer1/rms", path=None, log=True):
    """One curve per run: ``histories`` maps a label (e.g. 'lmbda=5') to a History."""
    fig, (ax,) = _figure(width=6.0)
    for label, h in histories.items():
        ax.plot(h["epoch"], h[key], lw=2, label=str(label))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(f"{key} for each run")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def coefficient_paths(path_result, path=None, max_lines=400):
    """Each weight of a convex regularization path against lmbda (log x)."""
    fig, (ax,) = _figure(width=6.0)
    coef = path_result.coefficients
    keep = np.argsort(-np.abs(coef).max(axis=0))[:max_lines]
    ax.plot(path_result.lmbdas, coef[:, keep], lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("lmbda")
    ax.set_ylabel("coefficient")
    ax.set_title("Coefficient paths" + (f" (largest {max_lines})" if coef.shape[1] > max_lines else ""))
    return _finish(fig, path)


def path_norm(path_result, path=None):
    """The optimum's sum w^2 and sum |w| against lmbda: never increasing in the convex case."""
    fig, (ax,) = _figure(width=6.0)
    ax.plot(path_result.lmbdas, path_result.l2_norm2, lw=2, label="sum w^2")
    ax.plot(path_result.lmbdas, path_result.l1_norm, lw=2, label="sum |w|")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lmbda")
    ax.set_ylabel("norm of the optimum")
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
    ax.set_xlabel("lmbda")
    ax.set_ylabel("mean cost (unregularized)")
    ax.set_title("Cost along the path")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def plateau(lmbda_over_n, plateau_rms, references=None, path=None):
    """Plateau RMS against lmbda/n on log-log axes, with horizontal reference levels."""
    fig, (ax,) = _figure(width=6.0)
    from matplotlib.ticker import NullFormatter

    ax.loglog(lmbda_over_n, plateau_rms, "o-", lw=2, label="first-layer plateau RMS")
    ax.xaxis.set_minor_formatter(NullFormatter())
    for name, value in (references or {}).items():
        ax.axhline(value, ls=":", lw=1, color="k" if "N" in name else "grey", label=name)
    ax.set_xlabel("lmbda / n")
    ax.set_ylabel("plateau RMS of layer 1")
    ax.set_title("Where weight decay levels off")
    ax.legend(fontsize=8)
    return _finish(fig, path)
