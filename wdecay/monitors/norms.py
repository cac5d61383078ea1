"""Per-layer weight statistics: norms, moments, signed against absolute sums.

Layer l (1-based) is ``weights[l-1]``, the weights into layer l+1 of units.
Every key is ``layer{l}/<name>``; totals are ``total/<name>``.
"""

from __future__ import annotations

import numpy as np

from .base import Monitor


class WeightNorms(Monitor):
    """Per-layer norms and the network's totals, including what the regularizer penalises.

    Per layer: ``fro`` = sqrt(sum w^2), ``fro2`` = sum w^2, ``l1`` = sum |w| (the
    entrywise norm, not ``np.linalg.norm(W, 1)``), ``rms`` = sqrt(mean w^2),
    ``max_abs`` = max |w|. Totals: ``total/fro2``, ``total/l1``,
    ``total/penalized`` (the regularizer's ``penalized``: sum w^2 under L2,
    sum |w| under L1, 0 without penalty)
    and ``total/penalty`` (the regularizer's penalty with n the training-set size).

    Examples
    --------
    >>> WeightNorms.layer_values(np.array([[3.0, -4.0]]))["l1"]
    7.0
    """

    @staticmethod
    def layer_values(w):
        fro2 = float(np.vdot(w, w))
        return {"fro": fro2 ** 0.5, "fro2": fro2, "l1": float(np.abs(w).sum()),
                "rms": (fro2 / w.size) ** 0.5, "max_abs": float(np.abs(w).max())}

    def on_epoch_end(self, state):
        out, fro2, l1 = {}, 0.0, 0.0
        for l, w in enumerate(state.weights, 1):
            values = self.layer_values(w)
            fro2 += values["fro2"]
            l1 += values["l1"]
            out.update({f"layer{l}/{k}": v for k, v in values.items()})
        penalized = state.regularizer.penalized(state.weights)
        out.update({"total/fro2": fro2, "total/l1": l1, "total/penalized": penalized,
                    "total/penalty": state.regularizer.penalty(state.weights, state.n)})
        return out


class LayerStatistics(Monitor):
    """Per-layer mean and variance of the weights (and optionally biases, histograms).

    Keys ``layer{l}/mean`` and ``layer{l}/var`` (population variance); with
    ``biases=True`` also ``layer{l}/bias_mean`` and ``layer{l}/bias_var``. With
    ``bins`` (an array of fixed edges) the counts ``layer{l}/hist{i:02d}`` for
    each bin, plus ``layer{l}/hist_below`` and ``layer{l}/hist_above`` outside
    the edges. Edges are fixed so histograms compare across epochs; automatic
    bins would shrink with the weights.

    Examples
    --------
    >>> LayerStatistics(bins=[-1.0, 0.0, 1.0]).bins.tolist()
    [-1.0, 0.0, 1.0]
    """

    def __init__(self, biases=False, bins=None):
        self.biases = biases
        self.bins = None if bins is None else np.asarray(bins, dtype=float)
        if self.bins is not None and (self.bins.ndim != 1 or len(self.bins) < 2
                                      or np.any(np.diff(self.bins) <= 0)):
            raise ValueError("`bins` must be at least 2 strictly increasing edges")

    def on_epoch_end(self, state):
        out = {}
        for l, (w, b) in enumerate(zip(state.weights, state.biases), 1):
            out[f"layer{l}/mean"] = float(w.mean())
            out[f"layer{l}/var"] = float(w.var())
            if self.biases:
                out[f"layer{l}/bias_mean"] = float(b.mean())
                out[f"layer{l}/bias_var"] = float(b.var())
            if self.bins is not None:
                counts, _ = np.histogram(w, bins=self.bins)
                out.update({f"layer{l}/hist{i:02d}": int(c) for i, c in enumerate(counts)})
                out[f"layer{l}/hist_below"] = int(np.count_nonzero(w < self.bins[0]))
                out[f"layer{l}/hist_above"] = int(np.count_nonzero(w > self.bins[-1]))
        return out


class SumVsAbsSum(Monitor):
    """Signed sum against absolute sum, and the induced matrix 1-norm, per layer.

    ``sum`` = sum w, ``abs_sum`` = sum |w|, ``cancellation`` = |sum w| / sum |w|
    (near 0 when signs cancel, so a small signed sum says nothing about the
    size of the weights), and ``induced_l1`` = max_j sum_i |w_ij|, the largest
    absolute column sum, which is what ``np.linalg.norm(W, 1)`` returns for a
    matrix.

    Examples
    --------
    >>> SumVsAbsSum.layer_values(np.array([[1.0, -1.0], [2.0, 0.0]]))["induced_l1"]
    3.0
    """

    @staticmethod
    def layer_values(w):
        abs_w = np.abs(w)
        signed, absolute = float(w.sum()), float(abs_w.sum())
        return {"sum": signed, "abs_sum": absolute,
                "cancellation": abs(signed) / absolute if absolute else float("nan"),
                "induced_l1": float(abs_w.sum(axis=0).max())}

    def on_epoch_end(self, state):
        return {f"layer{l}/{k}": v for l, w in enumerate(state.weights, 1)
                for k, v in self.layer_values(w).items()}
