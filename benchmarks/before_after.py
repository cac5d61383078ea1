"""This tree against an older checkout, side by side: compat, lockstep and fit epochs.

Each round starts one worker process per tree (each imports its own wdecay via
PYTHONPATH) and alternates them; a worker builds the workload, runs it once
untimed, then times it once. Medians over the rounds, and old / new ratios
(above 1: this tree is faster). Data: random inputs in [0, 1) with a fixed
seed, [784, 30, 10], batch 10, eta 0.1, L2 with lmbda 5, one BLAS thread.

- ``compat``: one epoch of ``wdecay.compat.network2.Network.SGD`` (large init);
- ``lockstep``: one epoch of ``wdecay.sweep.train_many`` for 8 networks;
- ``fit``: one epoch of ``wdecay.fit`` on the numpy step (the old tree has
  only that);
- ``adam``, ``momentum``: one epoch of ``wdecay.fit`` with ``Adam()`` or
  ``Momentum(0.9)`` (coupled), eta 0.001 and 0.01, the optimizer's step;
- ``adam+budget``: the same Adam epoch with ``NormBudget`` (the per-batch path,
  which splits every step into its decay and gradient parts).

    git worktree add /tmp/wdecay_baseline 4bb716b
    python benchmarks/before_after.py --baseline /tmp/wdecay_baseline [--rounds 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r"""
import contextlib, inspect, io, json, random, sys, time
import numpy as np
import wdecay
from threadpoolctl import threadpool_limits

kind, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
X, y = rng.random((n, 784)), rng.integers(0, 10, n)
if kind == "compat":
    from wdecay.compat import network2
    from wdecay.datasets import to_network2
    train = to_network2(X, y)
    np.random.seed(0)
    net = network2.Network([784, 30, 10])
    net.large_weight_initializer()
    def work():
        random.seed(0)
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(train, 1, 10, 0.1, lmbda=5.0)
elif kind == "lockstep":
    from wdecay.sweep import train_many
    configs = [{"eta": 0.1, "lmbda": float(l), "regularizer": "l2", "initializer": "large",
                "init_seed": k} for k, l in enumerate(np.geomspace(0.5, 50, 8))]
    def work():
        train_many(X, y, configs, sizes=[784, 30, 10], epochs=1, batch_size=10, seed=0)
elif kind in ("adam", "momentum", "adam+budget"):
    from wdecay import monitors as M
    from wdecay.optim import Adam, Momentum
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    opt, eta = (Momentum(0.9), 0.01) if kind == "momentum" else (Adam(), 0.001)
    mons = [M.NormBudget()] if kind == "adam+budget" else []
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
    t = time.perf_counter()
    work()
    print(json.dumps(time.perf_counter() - t))
"""


KINDS = ["compat", "lockstep", "fit", "adam", "momentum", "adam+budget"]


def timed(tree, kind, n):
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", WORKER, kind, str(n)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a checkout of the older wdecay")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20_000, help="training rows")
    parser.add_argument("--kinds", nargs="+", default=KINDS, choices=KINDS)
    args = parser.parse_args()
    trees = {"old": os.path.abspath(args.baseline), "new": ROOT}
    print(f"{args.n} random rows, [784, 30, 10], batch 10, one BLAS thread, "
          f"{args.rounds} rounds; load average {os.getloadavg()[0]:.2f} at the start")
    for kind in args.kinds:
        times = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                times[name].append(timed(tree, kind, args.n))
        med = {name: statistics.median(ts) for name, ts in times.items()}
        print(f"{kind:>9}: old {med['old']:.3f} s, new {med['new']:.3f} s, "
              f"old / new {med['old'] / med['new']:.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
