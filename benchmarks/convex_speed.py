"""fit_optimum and regularization_path of this tree against older checkouts, side by side.

Each round starts one worker process per tree (each imports its own wdecay via
PYTHONPATH), in alternating order; a worker runs the workload once untimed,
then times it once (wall clock and the process's CPU time, which other load on
a shared machine disturbs less). Prints medians over the rounds, old / new
ratios (above 1: this tree is faster), and how far this tree's solution lies
from each baseline's (largest weight difference relative to the largest
weight; the residuals are each tree's own). One BLAS thread, as the solvers pin.

Workloads, on the embedded MNIST sample (density 0.19):

- ``bridge``: ``fit_optimum`` logistic, L2 lmbda 50, on the 4,000 training
  digits, 10 outputs (the solve of ``examples/convex_bridge.py``);
- ``digits``: logistic, L2 lmbda 10, digit 3 against 8 (800 digits, one output),
  the solve ``tests/test_convex.py`` compares with scikit-learn;
- ``path``, ``path-l1``: ``regularization_path`` of digit 3 against 8 on the
  default grid of 4 lmbdas, L2 or L1 (``wdecay path --n-lmbdas 4``);
- ``softmax``: softmax, L2 lmbda 50, tol 1e-6, the 4,000 digits
  (``blas_threads.py --convex``'s L2 solve).

    git worktree add /tmp/wdecay_old fc43b23
    python benchmarks/convex_speed.py --baseline /tmp/wdecay_old [--rounds 3] [--kinds bridge path]

``--densities 0.1 0.2 ...`` instead times one logistic ``value_grad`` on random 4,000 x 784
inputs of each density (1 and 10 outputs), dense against CSR (``SparseInputs``), side by
side in this tree: where ``wdecay.convex.models.SPARSE_DENSITY`` should lie.

    python benchmarks/convex_speed.py --densities 0.1 0.2 0.3 0.4 0.5 [--rounds 3]

``--rows 800 1600 4000`` does the same on the first rows of the embedded MNIST sample
(density 0.19): where ``SPARSE_MIN_ENTRIES`` should lie.

    python benchmarks/convex_speed.py --rows 400 800 1600 2400 4000 [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("bridge", "digits", "path", "path-l1", "softmax")

WORKER = r"""
import json, sys, time
import numpy as np
from wdecay.convex import fit_optimum, regularization_path
from wdecay.datasets import load_mnist_sample

kind, out = sys.argv[1], sys.argv[2]
(X, y), _, _ = load_mnist_sample()
keep = np.isin(y, (3, 8))
X38, Y38 = X[keep], (y[keep] == 8).astype(float)[:, None]
work = {
    "bridge": lambda: fit_optimum(X, y, 50.0, model="logistic"),
    "digits": lambda: fit_optimum(X38, Y38, 10.0, model="logistic"),
    "path": lambda: regularization_path(X38, Y38, n_lmbdas=4),
    "path-l1": lambda: regularization_path(X38, Y38, penalty="l1", n_lmbdas=4),
    "softmax": lambda: fit_optimum(X, y, 50.0, model="softmax", tol=1e-6),
}[kind]
work()
wall, cpu = time.perf_counter(), time.process_time()
result = work()
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
np.save(out, result.weights)
print(json.dumps({"wall": wall, "cpu": cpu, "residual": float(np.max(result.residual))}))
"""


def run(tree, kind, out):
    env = dict(os.environ, PYTHONPATH=tree, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", WORKER, kind, out], env=env, cwd=tree,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def densities(values, rounds, rows=False):
    """value_grad per density (or per number of sample rows), dense against CSR inputs,
    interleaved; medians."""
    import numpy as np
    from _common import interleaved

    from wdecay.convex.models import SparseInputs, get_model
    from wdecay.datasets import load_mnist_sample

    model, rng = get_model("logistic"), np.random.default_rng(0)
    (sample, _), _, _ = load_mnist_sample()
    column = "rows" if rows else "density"
    print(f"{'outputs':>7} {column:>7} {'dense ms':>8} {'CSR ms':>7} {'dense/CSR':>9}")
    for k in (1, 10):
        for value in values:
            if rows:
                X = sample[:int(value)]
            else:
                X = rng.random((4000, 784)) * (rng.random((4000, 784)) < value)
            Y = (rng.random((len(X), k)) < 0.5).astype(float)
            W, b, S = 0.01 * rng.standard_normal((k, 784)), np.zeros(k), SparseInputs(X)
            fns = {name: lambda inputs=inputs, W=W, b=b, Y=Y: [
                       model.value_grad(W, b, inputs, Y) for _ in range(20)]
                   for name, inputs in (("dense", X), ("csr", S))}
            med, _ = interleaved(fns, rounds)
            print(f"{k:>7} {value:>7g} {med['dense'] * 50:>8.3f} {med['csr'] * 50:>7.3f} "
                  f"{med['dense'] / med['csr']:>9.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="append", help="an older checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--densities", type=float, nargs="+")
    parser.add_argument("--rows", type=int, nargs="+")
    args = parser.parse_args()
    if args.densities or args.rows:
        from wdecay._threads import blas_threads

        with blas_threads(1):
            return densities(args.rows or args.densities, args.rounds, rows=bool(args.rows))
    if not args.baseline:
        parser.error("--baseline is required (or --densities or --rows)")
    import numpy as np

    trees = [ROOT, *[os.path.abspath(b) for b in args.baseline]]
    print(f"{'kind':<8} {'tree':<28} {'wall s':>7} {'cpu s':>7} {'old/new cpu':>11} "
          f"{'residual':>9} {'max |dW|/max|W|':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            times = {tree: [] for tree in trees}
            for r in range(args.rounds):
                order = trees if r % 2 == 0 else trees[::-1]
                for tree in order:
                    out = os.path.join(tmp, f"{trees.index(tree)}.npy")
                    times[tree].append(run(tree, kind, out))
            new_w = np.load(os.path.join(tmp, "0.npy"))
            new_cpu = statistics.median(t["cpu"] for t in times[ROOT])
            for i, tree in enumerate(trees):
                wall = statistics.median(t["wall"] for t in times[tree])
                cpu = statistics.median(t["cpu"] for t in times[tree])
                w = np.load(os.path.join(tmp, f"{i}.npy"))
                diff = float(np.abs(w - new_w).max() / np.abs(w).max())
                name = "this tree" if i == 0 else os.path.basename(tree.rstrip("/"))
                print(f"{kind:<8} {name:<28} {wall:>7.3f} {cpu:>7.3f} {cpu / new_cpu:>11.2f} "
                      f"{times[tree][-1]['residual']:>9.1e} {diff:>15.1e}")


if __name__ == "__main__":
    main()
