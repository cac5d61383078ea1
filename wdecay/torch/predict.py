"""Predictions for decoupled decay (AdamW): the timescale and the equilibrium RMS.

AdamW maps W -> (1 - lr wd) W - lr m_hat / (sqrt(v_hat) + eps). Decay alone shrinks W by the factor
(1 - lr wd) per step, so its timescale is (Wang and Aitchison 2024, "How to
set AdamW's weight decay as you scale model and dataset size")::

    tau = 1 / (lr wd) steps,   tau / (steps per epoch) epochs.

If the normalised gradients n_t = g_t / (sqrt(v_hat) + eps) are independent
of W and of each other (a random walk), the squared norm settles where the
decay's shrink balances their growth, 2 lr wd ||W||^2 = lr^2 ||n||^2, which
gives the equilibrium RMS (the rotational equilibrium of Kosson, Messmer and
Jaggi 2023, "Rotational equilibrium: how weight decay balances learning
across neural networks", arXiv:2305.17212)::

    RMS_eq = RMS(n) sqrt(lr / (2 wd)).

The recorder measures RMS(n) over the epoch's steps. It is n, not the step
m_hat / (...) itself: the first moment spreads each n_t over the following
steps with weights that add up to 1, so a random walk moves as far as with
n_t alone, while each step's own RMS is smaller (about
sqrt((1 - beta1) / (1 + beta1)) of RMS(n) for independent n_t) and
consecutive steps are correlated, which the norm budget books as G > 0.
Where the gradient has a radial part, or the n_t are correlated, the
estimate is off; the recorder writes it beside the measured RMS so a run
shows where it holds.

Examples
--------
>>> round(adamw_timescale(1e-3, 0.1), 6)
10000.0
>>> round(adamw_equilibrium(0.5, 1e-3, 0.1), 6)
0.035355
"""

from __future__ import annotations

import math


def adamw_timescale(lr, weight_decay):
    """tau = 1 / (lr weight_decay), in steps (inf without decay)."""
    rate = float(lr) * float(weight_decay)
    return 1.0 / rate if rate > 0 else math.inf


def adamw_equilibrium(update_rms, lr, weight_decay):
    """RMS_eq = update_rms sqrt(lr / (2 weight_decay)), ``update_rms`` the RMS of n (no lr)."""
    if not float(weight_decay) > 0:
        return math.nan
    return float(update_rms) * math.sqrt(float(lr) / (2.0 * float(weight_decay)))
