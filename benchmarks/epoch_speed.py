"""Seconds per epoch of [784, 30, 10] on 50,000 rows: old wdecay, numpy and numba backends, floor.

Implementations, each in its own worker process (so that each imports its own
wdecay), timed in interleaved rounds (one epoch of each per round, after one
untimed warm-up epoch), medians printed with ratios:

- ``old``: the wdecay of a baseline checkout (``--baseline PATH``), e.g. commit
  4bb716b, before the fused step and the numba backend (on a checkout that has
  backends, its numpy backend);
- ``numpy``: this tree's ``wdecay.fit(backend="numpy")`` (the fused gemm step);
- ``numba``: this tree's ``wdecay.fit(backend="numba")`` (the compiled epoch);
- ``per-example``: the tests' network2-style loop (tests/reference.py), float64;
- ``torch``: PyTorch CPU SGD (weight_decay = lmbda / n), when torch imports;
- ``floor``: the two first-layer products alone, ``x W^T`` and ``delta^T x``
  for every batch of consecutive rows, the work no implementation can skip.

A wdecay epoch is timed from the ``on_epoch_begin`` to the ``on_epoch_end``
of a monitor: the epoch's permutation and steps, not ``fit``'s one-off input
checks. BLAS runs one thread everywhere. Data: the embedded MNIST sample tiled
to 50,000 rows (19% non-zero: the numba backend uses its CSR first layer in
float64, the dense one in float32) and
Fashion-MNIST's first 50,000 training rows when installed (50%: dense).
Training settings: eta 0.1, L2 with lmbda 5.0, seed network.

    git worktree add /tmp/wdecay_baseline 4bb716b      # the old wdecay, once
    python benchmarks/epoch_speed.py --baseline /tmp/wdecay_baseline [--repeats 5]
    python benchmarks/epoch_speed.py --baseline /tmp/wdecay_baseline --quick
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ETA, LMBDA = 0.1, 5.0


# -- worker side ---------------------------------------------------------------
def clocks():
    return time.perf_counter(), time.process_time()


def elapsed(t0):
    """(wall seconds, this process's CPU seconds) since ``t0 = clocks()``."""
    wall, cpu = clocks()
    return wall - t0[0], cpu - t0[1]


class Worker:
    """One implementation; reads commands on stdin, answers one line each."""

    def __init__(self, impl, tree, data_dir):
        self.impl, self.tree, self.data_dir = impl, tree, data_dir
        self.config = None

    def prepare(self, dataset, dtype, batch):
        import wdecay
        from wdecay._threads import blas_threads

        self.blas_threads = blas_threads
        dtype = np.dtype(dtype)
        X = np.load(os.path.join(self.data_dir, f"{dataset}_X.npy"))
        self.y = np.load(os.path.join(self.data_dir, f"{dataset}_y.npy"))
        self.X = np.ascontiguousarray(X, dtype=dtype)
        del X
        self.n, self.batch, self.dtype = len(self.X), int(batch), dtype
        self.rng = np.random.default_rng(0)
        self.net = wdecay.Network([784, 30, 10], seed=0, dtype=dtype)
        self.run = getattr(self, "_prepare_" + self.impl.replace("-", "_"))()
        self.run()  # warm-up epoch (first touch of memory, compilation, caches)

    def _fit_epoch(self, **backend):
        import wdecay
        from wdecay.monitors.base import Monitor

        times = []

        class Timer(Monitor):
            def on_epoch_begin(self, state):
                self.t0 = clocks()

            def on_epoch_end(self, state):
                if state.epoch > 0:
                    times.append(elapsed(self.t0))
                return {}

        def run():
            wdecay.fit(self.net, self.X, self.y, epochs=1, batch_size=self.batch, eta=ETA,
                       regularizer=wdecay.L2(LMBDA), seed=self.rng, monitors=[Timer()],
                       **backend)
            return times[-1]
        return run

    def _prepare_old(self):
        # an old tree with backends (3cd6c9e on) would pick numba under "auto": compare
        # its numpy step with this tree's
        import inspect

        import wdecay
        has_backend = "backend" in inspect.signature(wdecay.fit).parameters
        return self._fit_epoch(**({"backend": "numpy"} if has_backend else {}))

    def _prepare_numpy(self):
        return self._fit_epoch(backend="numpy")

    def _prepare_numba(self):
        return self._fit_epoch(backend="numba")

    def _prepare_per_example(self):
        sys.path.insert(1, ROOT)
        from tests import reference

        Y = np.eye(10)[self.y]
        w0, b0 = self.net.weights, self.net.biases

        def run():
            with self.blas_threads(1):
                t0 = clocks()
                reference.train(w0, b0, self.X, Y, epochs=1, batch_size=self.batch, eta=ETA,
                                lmbda=LMBDA, seed=self.rng)
                return elapsed(t0)
        return run

    def _prepare_torch(self):
        import torch

        torch.set_num_threads(1)
        tdt = torch.float64 if self.dtype == np.float64 else torch.float32
        X, y = torch.from_numpy(self.X), torch.from_numpy(self.y.astype(np.int64))
        model = torch.nn.Sequential(torch.nn.Linear(784, 30), torch.nn.Sigmoid(),
                                    torch.nn.Linear(30, 10)).to(tdt)
        # Nielsen's cross-entropy on sigmoid outputs; weight_decay = lmbda / n on weights only.
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
        decayed = [p for name, p in model.named_parameters() if name.endswith("weight")]
        others = [p for name, p in model.named_parameters() if name.endswith("bias")]
        opt = torch.optim.SGD([{"params": decayed, "weight_decay": LMBDA / self.n},
                               {"params": others}], lr=ETA)
        eye = torch.eye(10, dtype=tdt)

        def run():
            t0 = clocks()
            order = torch.from_numpy(self.rng.permutation(self.n))
            for k in range(0, self.n, self.batch):
                idx = order[k:k + self.batch]
                opt.zero_grad()
                loss = loss_fn(model(X[idx]), eye[y[idx]]) / len(idx)
                loss.backward()
                opt.step()
            return elapsed(t0)
        return run

    def _prepare_floor(self):
        rng = np.random.default_rng(0)
        W = rng.standard_normal((30, 784)).astype(self.dtype)
        D = rng.standard_normal((self.batch, 30)).astype(self.dtype)
        Z, G = np.empty((self.batch, 30), self.dtype), np.empty((30, 784), self.dtype)
        full = self.n - self.n % self.batch
        batches = [self.X[i:i + self.batch] for i in range(0, full, self.batch)]

        def run():
            with self.blas_threads(1):
                t0 = clocks()
                for xb in batches:
                    np.matmul(xb, W.T, out=Z)
                    np.matmul(D.T, xb, out=G)
                return elapsed(t0)
        return run

    def serve(self):
        import wdecay

        where = os.path.dirname(os.path.dirname(os.path.abspath(wdecay.__file__)))
        if os.path.realpath(where) != os.path.realpath(self.tree):
            raise RuntimeError(f"worker {self.impl} imported wdecay from {where}, "
                               f"not {self.tree}")
        print("ok", flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if cmd[0] == "prepare":
                self.prepare(*cmd[1:])
                print("ok", flush=True)
            elif cmd[0] == "run":
                print("%r %r" % self.run(), flush=True)
            elif cmd[0] == "quit":
                return


def worker_main(impl, tree, data_dir):
    sys.path.insert(0, tree)  # this implementation's wdecay first
    Worker(impl, tree, data_dir).serve()


# -- driver side ---------------------------------------------------------------
class Remote:
    def __init__(self, impl, tree, data_dir):
        env = {**os.environ, "PYTHONPATH": tree}
        self.impl = impl
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", impl, "--tree", tree,
             "--data-dir", data_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=env, cwd=HERE)
        self._answer()

    def _answer(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.impl} died (see its error above)")
        return line.strip()

    def ask(self, *cmd):
        self.proc.stdin.write(" ".join(map(str, cmd)) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


def have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def write_data(data_dir, n, datasets):
    sys.path.insert(0, HERE)
    from _common import mnist_tiled

    written = []
    X, y = mnist_tiled(n)
    np.save(os.path.join(data_dir, "mnist_X.npy"), X)
    np.save(os.path.join(data_dir, "mnist_y.npy"), y)
    written.append(("mnist", np.count_nonzero(X) / X.size))
    if "fashion" in datasets:
        from wdecay.datasets import load_fashion_mnist

        try:
            (X, y), _, _ = load_fashion_mnist()
        except FileNotFoundError:
            print("Fashion-MNIST is not installed: skipped")
        else:
            X, y = X[:n], y[:n]
            np.save(os.path.join(data_dir, "fashion_X.npy"), X)
            np.save(os.path.join(data_dir, "fashion_y.npy"), y)
            written.append(("fashion", np.count_nonzero(X) / X.size))
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a checkout of the old wdecay (e.g. commit 4bb716b)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, help="rows (default 50,000; 10,000 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 rows, 3 repeats, MNIST only, no per-example loop")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker, args.tree, args.data_dir)
    if args.quick:
        args.repeats = 3
    args.n = args.n or (10_000 if args.quick else 50_000)
    impls = {"numpy": ROOT, "numba": ROOT, "floor": ROOT}
    if args.baseline:
        impls = {"old": os.path.abspath(args.baseline), **impls}
    else:
        print("no --baseline: ratios are against this tree's numpy path")
    if not args.quick:
        impls["per-example"] = ROOT
    if have_torch():
        impls["torch"] = ROOT
    reference = "old" if args.baseline else "numpy"
    data_dir = tempfile.mkdtemp(prefix="epoch_speed_")
    results = {}
    try:
        datasets = write_data(data_dir, args.n, () if args.quick else ("fashion",))
        print(f"{args.n} rows, [784, 30, 10], eta {ETA}, L2 lmbda {LMBDA}, one BLAS thread, "
              f"{args.repeats} interleaved repeats, medians; "
              f"load average {os.getloadavg()[0]:.2f} at the start")
        remotes = {impl: Remote(impl, tree, data_dir) for impl, tree in impls.items()}
        header = (f"{'data':>8} {'dtype':>8} {'batch':>5} {'implementation':>15} "
                  f"{'wall s':>7} {'cpu s':>7} {'vs ' + reference:>8} {'(cpu)':>6} "
                  f"{'vs floor':>8} {'(cpu)':>6}")
        print(header)
        for dataset, density in datasets:
            for dtype in ("float64", "float32"):
                for batch in (10, 100):
                    active = [i for i in remotes if not (i == "per-example" and dtype != "float64")]
                    for impl in active:
                        remotes[impl].ask("prepare", dataset, dtype, batch)
                    times = {impl: [] for impl in active}
                    for _ in range(args.repeats):
                        for impl in active:
                            times[impl].append([float(t) for t in remotes[impl].ask("run").split()])
                    wall = {impl: statistics.median(t[0] for t in ts) for impl, ts in times.items()}
                    cpu = {impl: statistics.median(t[1] for t in ts) for impl, ts in times.items()}
                    results[dataset, dtype, batch] = wall, cpu
                    for impl in active:
                        print(f"{dataset:>8} {dtype:>8} {batch:>5} {impl:>15} {wall[impl]:>7.3f} "
                              f"{cpu[impl]:>7.3f} {wall[reference] / wall[impl]:>7.2f}x "
                              f"{cpu[reference] / cpu[impl]:>5.2f}x "
                              f"{wall[impl] / wall['floor']:>7.2f}x "
                              f"{cpu[impl] / cpu['floor']:>5.2f}x", flush=True)
        for remote in remotes.values():
            remote.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if "old" in impls:
        print("float32 against the old wdecay in float64 (same data and batch; wall, cpu):")
        for (dataset, dtype, batch), (wall, cpu) in results.items():
            if dtype == "float32":
                wall64, cpu64 = results[dataset, "float64", batch]
                ratios = [f"{impl} {wall64['old'] / wall[impl]:.2f}x, "
                          f"{cpu64['old'] / cpu[impl]:.2f}x" for impl in ("numpy", "numba")]
                print(f"{dataset:>8} batch {batch:>3}: " + "; ".join(ratios))
    print(f"load average {os.getloadavg()[0]:.2f} at the end; "
          f"'vs {reference}': its time / this one's; 'vs floor': this time / the floor's; "
          "cpu: the worker process's CPU time, less sensitive to other load than wall time")


if __name__ == "__main__":
    main()
