"""The first layer's lazy decay scale, W_0 = s V_0: the one rule of the lockstep step and the numba kernel.

A decay that is only a factor a multiplies every weight each step. On the
784-input first layer that is the costliest part of a small step, so both
fast paths keep W_0 as s V_0 and multiply the scalar s by a instead; the
gradient step then updates V_0 with the gradient divided by s. The scale is
folded back into V_0 (V_0 <- s V_0, s <- 1) at the end of an epoch, and before
|s| leaves [limit, 1/limit], where float32 would lose V_0's precision within
an epoch.

Examples
--------
>>> import numpy as np
>>> bool(fold_needed(np.array([1e-20]), np.array([0.5]), np.float32))
True
>>> bool(fold_needed(np.array([1e-20]), np.array([0.5]), np.float64))
False
"""

from __future__ import annotations

import numpy as np

#: The lazy scale s of the first layer is folded back when |s| leaves [limit, 1/limit].
FOLD_LIMIT = {np.float64: 1e-100, np.float32: 1e-20}


def fold_needed(scale, factor, dtype):
    """Whether multiplying ``scale`` by ``factor`` would take some |s| below the fold limit."""
    return bool(np.any(np.abs(scale * factor) < FOLD_LIMIT[np.dtype(dtype).type]))


class LazyScale:
    """The scales s (K,) of K stacked first layers kept as W_0 = s V_0 (the lockstep step).

    Each step multiplies s by the per-network factors (1 for a network decayed
    otherwise) instead of V_0; :meth:`fold` multiplies s into V_0.

    Parameters
    ----------
    V0 : array (K, out, in)
        The stacked first layers, scaled in place by :meth:`fold`.

    Examples
    --------
    >>> V0 = np.ones((2, 1, 1))
    >>> lazy = LazyScale(V0); lazy.factor = np.array([0.5, 1.0])
    >>> lazy.step().tolist(), V0.ravel().tolist()
    ([0.5, 1.0], [1.0, 1.0])
    >>> lazy.fold(); lazy.scale.tolist(), V0.ravel().tolist()
    ([1.0, 1.0], [0.5, 1.0])
    """

    def __init__(self, V0):
        self.V0 = V0
        self.scale = np.ones(len(V0), dtype=V0.dtype)
        self.factor = np.ones(len(V0), dtype=V0.dtype)
        self._limit = FOLD_LIMIT[np.dtype(V0.dtype).type]

    def step(self):
        """s <- a s, folding first when some |a s| would leave the limit; returns s.

        :func:`fold_needed`'s test on the product a s, which then becomes s (the
        same bits as ``s *= a``) unless a fold comes first.
        """
        scale = self.scale
        product = scale * self.factor
        if (np.abs(product) < self._limit).any():
            self.fold()  # before s underflows (float32 reaches it within an epoch)
            scale *= self.factor
        else:
            np.copyto(scale, product)
        return scale

    def fold(self):
        """V_0 <- s V_0 and s <- 1, so that V_0 holds the weights."""
        if np.any(self.scale != 1.0):
            self.V0 *= self.scale[:, None, None]
            self.scale[:] = 1.0
