"""The convex case: exact optima of digit 3 against digit 8 along a grid of lmbda.

Shows that the optimum's total norm never grows with lmbda while single
coefficients may, and the textbook non-monotone ridge example.

    python examples/regularization_path.py [--n-lmbdas 20] [--out regularization_path]
"""

import argparse
import os

import numpy as np

from wdecay.convex import correlated_ridge_example, regularization_path
from wdecay.datasets import load_mnist_sample


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-lmbdas", type=int, default=5 if small else 20)
    parser.add_argument("--out", default="regularization_path")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    (X, y), (Xv, yv), _ = load_mnist_sample()
    keep, keep_v = np.isin(y, (3, 8)), np.isin(yv, (3, 8))
    Y, Yv = (y[keep] == 8).astype(float)[:, None], (yv[keep_v] == 8).astype(float)[:, None]
    path = regularization_path(X[keep], Y, model="logistic", n_lmbdas=args.n_lmbdas,
                               evaluation_data=(Xv[keep_v], Yv))
    print(f"{'lmbda':>10} {'sum w^2':>10} {'eval acc':>8}")
    for lmbda, norm, acc in zip(path.lmbdas, path.l2_norm2, path.eval_accuracy):
        print(f"{lmbda:>10.4g} {norm:>10.4g} {acc:>8.3f}")
    # coefficients whose magnitude falls somewhere while lmbda falls, beyond a stated tolerance,
    # skipping weights of always-zero pixels (they move only at round-off)
    loose = path.nonmonotone(tol=0.0)
    strict = path.nonmonotone()
    large = path.nonmonotone(tol=0.1)
    print(f"total norm grows as lmbda falls: {bool(np.all(np.diff(path.l2_norm2) >= 0))}; "
          f"coefficients that are not monotone: {strict.count} of {strict.checked} beyond "
          f"{strict.tolerance:g} of their peak, {large.count} beyond 10%, largest excursion "
          f"{strict.largest_excursion:.3f} ({loose.skipped_zero_columns} weights of all-zero "
          f"pixels skipped; {loose.count} move at all)")
    Xr, yr, lmbdas = correlated_ridge_example()
    ridge = regularization_path(Xr, yr, lmbdas, model="ridge")
    w2 = np.abs(ridge.weights[::-1, 0, 1])
    print(f"ridge example: |w2| goes {w2[0]:.3f} -> {w2.max():.3f} -> {w2[-1]:.3f} as lmbda grows, "
          f"while sum w^2 goes {ridge.l2_norm2[-1]:.3f} -> {ridge.l2_norm2[0]:.3g}")
    try:
        from wdecay import plot

        plot.coefficient_paths(path, path=os.path.join(args.out, "coefficient_paths.png"))
        plot.path_norm(path, path=os.path.join(args.out, "path_norm.png"))
        plot.coefficient_paths(ridge, path=os.path.join(args.out, "ridge_example.png"))
    except ImportError:
        print('no plots: pip install "wdecay[plot]"')
    return path, ridge


if __name__ == "__main__":
    main()
