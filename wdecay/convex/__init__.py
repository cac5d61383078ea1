"""The convex case: models without a hidden layer, solved exactly.

For J(w) = C0(w) + (lmbda / 2n) ||w||^2 with C0 convex and J strictly convex,
the optimum's norm ||w*(lmbda)||^2 never increases with lmbda and C0(w*(lmbda))
never decreases: d||w*||^2 / dlmbda = -(2/n) w*^T H^-1 w* <= 0 (H the Hessian of
J). Single coefficients need not shrink monotonically; see
:func:`correlated_ridge_example`.
"""

from .models import MODELS, get_model
from .path import (Path, correlated_ridge_example, distance_to_optimum, lmbda_max,
                   regularization_path)
from .solve import Optimum, fit_optimum, residual_vector

__all__ = ["fit_optimum", "Optimum", "residual_vector", "regularization_path", "Path",
           "lmbda_max", "distance_to_optimum", "correlated_ridge_example", "MODELS",
           "get_model"]
