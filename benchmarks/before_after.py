"""This tree against older checkouts, side by side in one run: compat, lockstep, fit, optimizers.

Each round starts one worker process per tree (each imports its own wdecay via
PYTHONPATH) and alternates them, the order rotated by one tree each round (no
tree always runs right after the same other one); a worker builds the workload, runs it once
untimed, then times it once (wall clock and the process's CPU time, which
other load on a shared machine disturbs less). Medians over the rounds, and
old / new ratios (above 1: this tree is faster), one column per baseline.
Data: random inputs in [0, 1) with a fixed seed (the ``epoch`` kinds: the
embedded MNIST sample tiled, as ``epoch_speed.py``), [784, 30, 10], batch 10,
eta 0.1, L2 with lmbda 5, one BLAS thread.

The workloads of ``epoch_speed.py``, ``sweep_speed.py`` and ``compat_speed.py``
(which time this tree against a per-example loop, torch or the floor) are here
on ``--n`` rows, old against new:

- ``compat``: one epoch of ``wdecay.compat.network2.Network.SGD`` (large init);
- ``compat+eval``: compat_speed.py's call: the same with ``evaluation_data``
  (n / 5 examples, int labels) and ``monitor_evaluation_accuracy``;
- ``lockstep``: one epoch of ``wdecay.sweep.train_many`` for 8 networks on numpy's
  Lockstep (``backend="numpy"`` where the tree's ``train_many`` takes it);
- ``sweep``: sweep_speed.py's lockstep: 16 networks, lmbda geomspace(0.5, 50),
  ``backend="numpy"``; ``fit x16``: its one-by-one side, 16 ``fit`` epochs;
- ``fit``: one epoch of ``wdecay.fit`` on the numpy step;
- ``epoch``, ``epoch numba``: epoch_speed.py's float64 rows: one epoch of
  ``fit`` (numpy or numba backend) on the tiled MNIST sample, timed from the
  epoch's start to its end by a monitor (not ``fit``'s one-off checks);
- ``adam``, ``momentum``, ``nesterov``, ``adamw``: one epoch of ``wdecay.fit``
  with ``Adam()``, ``Momentum(0.9)``, ``Nesterov(0.9)`` (coupled) or
  ``AdamW()``, eta 0.001, 0.01, 0.01 and 0.001;
- ``adam+budget``, ``momentum+budget``: the same epochs with ``NormBudget``
  (the per-batch path, which splits every step into its decay and gradient
  parts).

    git worktree add /tmp/wdecay_old 3cd6c9e
    python benchmarks/before_after.py --baseline /tmp/wdecay_old [--baseline OTHER]
        [--rounds 7] [--n 10000] [--kinds fit adam ...]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r"""
import contextlib, inspect, io, json, os, random, sys, time
import numpy as np
import wdecay
from threadpoolctl import threadpool_limits

kind, n, data_root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
X, y = rng.random((n, 784)), rng.integers(0, 10, n)
clock = lambda: (time.perf_counter(), time.process_time())
inner = []  # (wall, cpu) of an epoch timed inside fit by a monitor
if kind in ("compat", "compat+eval"):
    from wdecay.compat import network2
    from wdecay.datasets import to_network2
    train = to_network2(X, y)
    extra = {}
    if kind == "compat+eval":
        extra = dict(evaluation_data=to_network2(X[: n // 5], y[: n // 5], one_hot=False),
                     monitor_evaluation_accuracy=True)
    np.random.seed(0)
    net = network2.Network([784, 30, 10])
    net.large_weight_initializer()
    def work():
        random.seed(0)
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(train, 1, 10, 0.1, lmbda=5.0, **extra)
elif kind in ("lockstep", "sweep"):
    from wdecay.sweep import train_many
    k = 8 if kind == "lockstep" else 16
    # numpy's Lockstep for both kinds ("auto" would pick numba where a tree has it)
    extra = ({"backend": "numpy"} if "backend" in inspect.signature(train_many).parameters
             else {})
    configs = [{"eta": 0.1, "lmbda": float(l), "regularizer": "l2", "initializer": "large",
                "init_seed": i} for i, l in enumerate(np.geomspace(0.5, 50, k))]
    def work():
        train_many(X, y, configs, sizes=[784, 30, 10], epochs=1, batch_size=10, seed=0,
                   **extra)
elif kind == "fit x16":
    nets = [(wdecay.Network([784, 30, 10], initializer="large", seed=i), float(l))
            for i, l in enumerate(np.geomspace(0.5, 50, 16))]
    def work():
        for net, lmbda in nets:
            net.fit(X, y, epochs=1, batch_size=10, eta=0.1, regularizer=wdecay.L2(lmbda),
                    seed=0, backend="numpy")
elif kind in ("epoch", "epoch numba"):
    from wdecay.monitors.base import Monitor
    with np.load(os.path.join(data_root, "wdecay", "datasets", "data", "mnist_5k.npz")) as d:
        Xm = d["images"].reshape(len(d["images"]), -1) / 255.0
        ym = d["labels"].astype(np.intp)
    reps = -(-n // len(Xm))
    X, y = np.tile(Xm, (reps, 1))[:n], np.tile(ym, reps)[:n]
    class Timer(Monitor):
        def on_epoch_begin(self, state):
            self.t0 = clock()
        def on_epoch_end(self, state):
            if state.epoch > 0:
                t1 = clock()
                inner.append((t1[0] - self.t0[0], t1[1] - self.t0[1]))
            return {}
    net = wdecay.Network([784, 30, 10], seed=0)
    backend = "numba" if kind == "epoch numba" else "numpy"
    order = np.random.default_rng(0)
    def work():
        net.fit(X, y, epochs=1, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                seed=order, monitors=[Timer()], backend=backend)
elif kind in ("adam", "adamw", "momentum", "nesterov", "adam+budget", "momentum+budget"):
    from wdecay import monitors as M
    from wdecay.optim import Adam, AdamW, Momentum, Nesterov
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    base = kind.split("+")[0]
    opt, eta = {"adam": (Adam(), 0.001), "adamw": (AdamW(), 0.001),
                "momentum": (Momentum(0.9), 0.01), "nesterov": (Nesterov(0.9), 0.01)}[base]
    mons = [M.NormBudget()] if kind.endswith("+budget") else []
    def work():
        net.fit(X, y, epochs=1, batch_size=10, eta=eta, regularizer=wdecay.L2(5.0), seed=0,
                optimizer=opt, monitors=mons)
else:
    extra = {"backend": "numpy"} if "backend" in inspect.signature(wdecay.fit).parameters else {}
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    def work():
        net.fit(X, y, epochs=1, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0), seed=0,
                **extra)
with threadpool_limits(1, user_api="blas"):
    work()
    t0 = clock()
    work()
    t1 = clock()
    print(json.dumps(inner[-1] if inner else (t1[0] - t0[0], t1[1] - t0[1])))
"""


KINDS = ["compat", "compat+eval", "lockstep", "sweep", "fit x16", "fit", "epoch", "epoch numba",
         "adam", "adamw", "momentum", "nesterov", "adam+budget", "momentum+budget"]


def timed(tree, kind, n):
    """(wall, cpu) seconds of one timed run of ``kind`` in a fresh worker importing ``tree``."""
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", WORKER, kind, str(n), ROOT], env=env, cwd=tree,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{kind} in {tree} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, action="append",
                        help="a checkout of an older wdecay (repeat for several)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20_000, help="training rows")
    parser.add_argument("--kinds", nargs="+", default=KINDS, choices=KINDS)
    args = parser.parse_args()
    olds = {f"old{k + 1}" if len(args.baseline) > 1 else "old": os.path.abspath(path)
            for k, path in enumerate(args.baseline)}
    trees = {**olds, "new": ROOT}
    for name, tree in olds.items():
        print(f"{name}: {tree}")
    print(f"{args.n} rows, [784, 30, 10], batch 10, one BLAS thread, {args.rounds} rounds; "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{'kind':>16} " + " ".join(f"{name + ' s':>9}" for name in trees)
          + "  " + "  ".join(f"{name + '/new wall':>13} {'(cpu)':>6}" for name in olds),
          flush=True)
    for kind in args.kinds:
        times = {name: [] for name in trees}
        names = list(trees)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                times[name].append(timed(trees[name], kind, args.n))
        wall = {name: statistics.median(t[0] for t in ts) for name, ts in times.items()}
        cpu = {name: statistics.median(t[1] for t in ts) for name, ts in times.items()}
        print(f"{kind:>16} " + " ".join(f"{wall[name]:>9.3f}" for name in trees) + "  "
              + "  ".join(f"{wall[name] / wall['new']:>12.2f}x {cpu[name] / cpu['new']:>5.2f}x"
                          for name in olds), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end; ratios: old time / new time "
          "(medians; cpu: the worker's CPU time)")


if __name__ == "__main__":
    main()
