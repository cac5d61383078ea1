"""How far weights trained with different BLAS thread counts drift apart (docs/speed.rst).

``OPENBLAS_NUM_THREADS`` sets BLAS's own thread count. Each worker is a fresh
process that hides numba, trains [784, 30, 10] on the embedded MNIST sample
(batch 100, eta 0.5, L2 lmbda 5, seeds 0) and saves its weights; the parent
compares two workers per thread count (bit-identical?) and 1 thread against 2
(largest difference relative to the largest weight of the layer). ``--mode``:

- ``base``: the base install (threadpoolctl hidden): training pins OpenBLAS to
  one thread through its own functions (``wdecay._threads``);
- ``unpinned``: nothing pins, BLAS keeps ``OPENBLAS_NUM_THREADS`` threads;
- ``threadpoolctl``: threadpoolctl kept (the ``fast`` extra) pins.

    python benchmarks/thread_reproducibility.py [--epochs 2 5 10] [--mode unpinned]

``tests/test_silent_wrong.py`` runs the same workers for 2 epochs.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


MODES = ("base", "unpinned", "threadpoolctl")


def worker(epochs, out, mode="base"):
    """Train in ``mode`` (see the module docstring) and save the parameters to ``out`` (.npz)."""
    if mode != "threadpoolctl":
        sys.modules["threadpoolctl"] = None  # an import now raises ImportError
    sys.modules["numba"] = None
    import wdecay
    from wdecay import _threads

    if mode == "unpinned":
        _threads.openblas_controls = lambda: []
    from wdecay.datasets import load_mnist_sample

    (X, y), _, _ = load_mnist_sample()
    net = wdecay.Network([784, 30, 10], seed=0)
    net.fit(X, y, epochs=epochs, batch_size=100, eta=0.5, regularizer=wdecay.L2(5.0), seed=0)
    np.savez(out, *net.weights, *net.biases)


def run_worker(threads, epochs, out, mode="base"):
    """Run :func:`worker` in a fresh process with ``OPENBLAS_NUM_THREADS=threads``."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "--epochs",
                    str(epochs), "--out", out, "--mode", mode], env=env,
                   check=True, timeout=600)
    with np.load(out) as data:
        return [data[k] for k in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


def identical(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def relative_difference(a, b):
    """max over arrays of max|a - b| / max|a|."""
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(x))) for x, y in zip(a, b))


def compare(epochs, folder, mode="base"):
    runs = {(t, r): run_worker(t, epochs, os.path.join(folder, f"w_{t}_{r}_{epochs}.npz"), mode)
            for t in (1, 2) for r in (0, 1)}
    return {"same_1": identical(runs[1, 0], runs[1, 1]),
            "same_2": identical(runs[2, 0], runs[2, 1]),
            "bitwise_1_vs_2": identical(runs[1, 0], runs[2, 0]),
            "relative_1_vs_2": relative_difference(runs[1, 0], runs[2, 0])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--mode", choices=MODES, default="base")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.epochs[0], args.out, args.mode)
        return
    import numpy

    print(f"numpy {numpy.__version__}; BLAS threads from OPENBLAS_NUM_THREADS; "
          f"mode {args.mode}, numba hidden")
    with tempfile.TemporaryDirectory() as folder:
        for epochs in args.epochs:
            r = compare(epochs, folder, args.mode)
            print(f"{epochs:>3} epochs: 1 thread twice identical {r['same_1']}, 2 threads twice "
                  f"identical {r['same_2']}, 1 vs 2 identical {r['bitwise_1_vs_2']}, "
                  f"max relative difference {r['relative_1_vs_2']:.3g}")


if __name__ == "__main__":
    main()
