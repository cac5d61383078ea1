"""Models without a hidden layer: their mean cost C0, gradient and Hessian.

Parameters are ``W`` (k, d) and ``b`` (k,); outputs a = f(X W^T + b). Costs are
the core library's: ``ridge`` (linear outputs, C_x = 1/2 ||a - y||^2),
``logistic`` (sigmoid outputs, ``CrossEntropyCost``, one-vs-rest) and
``softmax`` (``LogLikelihoodCost``). C0 is the mean over the n examples.
"""

from __future__ import annotations

import numpy as np

from .._validation import lookup
from ..costs import CrossEntropyCost, LogLikelihoodCost

#: Inputs with a smaller fraction of non-zero entries are multiplied in CSR form by the
#: iterative solvers (:class:`SparseInputs`), as the MNIST sample (density 0.19), when
#: they have at least :data:`SPARSE_MIN_ENTRIES` entries.
#: ``benchmarks/convex_speed.py --densities`` times a pass both ways: CSR was the faster
#: up to density 0.3, even at 0.4, slower at 0.5 (1 and 10 outputs, 4,000 x 784).
SPARSE_DENSITY = 0.25
#: Smaller inputs stay dense: with one output the dense pass, its data in cache, was as
#: fast up to 1,600 rows of 784 (``benchmarks/convex_speed.py --rows``, on the sample);
#: CSR was about twice as fast at 4,000 rows, with 1 or 10 outputs.
SPARSE_MIN_ENTRIES = 1_500_000


class SparseInputs:
    """Mostly-zero inputs X (n, d) kept as CSR, and X^T as CSR too.

    The two products of a one-layer pass, X M and X^T D, then read only the
    non-zero entries. Values are X's, summed in another order: rounding
    differs from the dense products at the last bits only.
    """

    def __init__(self, X):
        from scipy.sparse import csr_array

        self.shape = X.shape
        self.csr = csr_array(X)
        self.csr_t = csr_array(X.T)

    def __len__(self):
        return self.shape[0]

    def __matmul__(self, M):
        """X M."""
        return self.csr @ M

    def tdot(self, D):
        """X^T D."""
        return self.csr_t @ D


def solver_inputs(X):
    """X for the solvers' repeated passes: :class:`SparseInputs` when it has at least
    :data:`SPARSE_MIN_ENTRIES` entries and a density below :data:`SPARSE_DENSITY`, else
    X itself."""
    if X.size >= SPARSE_MIN_ENTRIES and np.count_nonzero(X) < SPARSE_DENSITY * X.size:
        return SparseInputs(X)
    return X


class ConvexModel:
    """Base: ``value_grad(W, b, X, Y)`` and ``hessian(W, b, X)`` of the mean cost C0."""

    name = "model"
    cost = None
    #: True when targets are real numbers (regression), not class labels
    real_targets = False

    def l2_closed_form(self, X, Y, lmbda):
        """The exact L2 optimum ``(W, b)`` in closed form, or None where there is none."""
        return None

    def zero_weight_biases(self, Y):
        """The optimal biases when every weight is zero (the top of an L1 path)."""
        raise NotImplementedError

    def outputs(self, z):
        return self.cost.output(z)

    def value_grad(self, W, b, X, Y):
        """Return (C0, dC0/dW, dC0/db).

        Not :mod:`wdecay.passes`: Ridge's linear output is no wdecay cost, and
        this one-layer pass also needs the Hessian beside it.
        """
        z = X @ W.T + b
        a = self.outputs(z)
        value = float(np.mean(self.fn(z, a, Y)))
        delta = self.delta(z, a, Y) / len(X)
        gW = X.tdot(delta).T if isinstance(X, SparseInputs) else delta.T @ X
        return value, gW, delta.sum(axis=0)

    def fn(self, z, a, Y):
        return self.cost.fn(z, a, Y)

    def delta(self, z, a, Y):
        return self.cost.delta(z, a, Y)

    def hessian(self, W, b, X):
        """d^2 C0 over the parameters ordered per class as [w_j (d), b_j], shape (p, p).

        X is a dense array here (not :class:`SparseInputs`).
        """
        raise NotImplementedError


def _augment(X):
    return np.hstack([X, np.ones((len(X), 1))])


def _weighted_gram(X1, s):
    """X1^T diag(s) X1 / n for weights s >= 0, shape (p, p).

    Only the columns of X1 that are not all zero enter (the others' rows and
    columns are 0), through BLAS's symmetric rank-k update, half a product's work.
    """
    from scipy.linalg.blas import dsyrk

    n, p = X1.shape
    used = np.flatnonzero(np.any(X1 != 0, axis=0))
    A = X1[:, used] * np.sqrt(s)[:, None]
    G = dsyrk(1.0 / n, A.T, trans=0)  # upper triangle of A^T A / n
    G = np.triu(G) + np.triu(G, 1).T
    H = np.zeros((p, p))
    H[np.ix_(used, used)] = G
    return H


class Ridge(ConvexModel):
    """Linear outputs with the quadratic cost: C_x = 1/2 ||W x + b - y||^2."""

    name = "ridge"
    real_targets = True

    def outputs(self, z):
        return z

    def l2_closed_form(self, X, Y, lmbda):
        """W^T = (Xc^T Xc + lmbda I)^-1 Xc^T Yc with centred data; b = mean(Y) - W mean(X).

        The bias is unpenalised, so centring removes it from the normal equations.
        """
        Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
        A = Xc.T @ Xc + lmbda * np.eye(X.shape[1])
        W = np.linalg.solve(A, Xc.T @ Yc).T
        return W, Y.mean(axis=0) - W @ X.mean(axis=0)

    def zero_weight_biases(self, Y):
        """The mean target."""
        return Y.mean(axis=0)

    def fn(self, z, a, Y):
        return 0.5 * np.sum((z - Y) ** 2, axis=1)

    def delta(self, z, a, Y):
        return z - Y

    def hessian(self, W, b, X):
        X1 = _augment(X)
        block = X1.T @ X1 / len(X)
        return np.kron(np.eye(len(W)), block)


class Logistic(ConvexModel):
    """Sigmoid outputs with the cross-entropy cost, each output an independent logistic model."""

    name = "logistic"
    cost = CrossEntropyCost()

    def zero_weight_biases(self, Y):
        """logit of the mean target, clipped away from 0 and 1."""
        p = np.clip(Y.mean(axis=0), 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def hessian(self, W, b, X):
        X1 = _augment(X)
        s = self.outputs(X @ W.T + b)
        s = s * (1 - s)
        k, p1 = len(W), X1.shape[1]
        H = np.zeros((k * p1, k * p1))
        for j in range(k):
            H[j * p1:(j + 1) * p1, j * p1:(j + 1) * p1] = _weighted_gram(X1, s[:, j])
        return H


class Softmax(ConvexModel):
    """Softmax outputs with the log-likelihood cost (multinomial logistic regression)."""

    name = "softmax"
    cost = LogLikelihoodCost()

    def zero_weight_biases(self, Y):
        """log of the class frequencies (clipped away from 0); softmax is shift-invariant."""
        return np.log(np.clip(Y.mean(axis=0), 1e-12, 1 - 1e-12))

    def hessian(self, W, b, X):
        X1 = _augment(X)
        a = self.outputs(X @ W.T + b)
        k, p1 = a.shape[1], X1.shape[1]
        # H[(j,u),(l,v)] = mean_i (delta_jl a_ij - a_ij a_il) x_iu x_iv
        cov = np.einsum("ij,jl->ijl", a, np.eye(k)) - np.einsum("ij,il->ijl", a, a)
        H = np.einsum("ijl,iu,iv->julv", cov, X1, X1) / len(X)
        return H.reshape(k * p1, k * p1)


MODELS = {cls.name: cls for cls in (Ridge, Logistic, Softmax)}


def get_model(model):
    """A :class:`ConvexModel` from an instance or a name ('ridge', 'logistic', 'softmax')."""
    if isinstance(model, ConvexModel):
        return model
    return lookup(MODELS, model, "model")()
