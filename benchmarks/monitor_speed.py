"""Overhead of the per-step monitors: a run with them against the same run without.

The book's network ([784, 30, 10], N(0, 1) weights, cross-entropy, eta 0.1,
batch 10, L2 with lmbda 50) on the embedded 4,000-digit MNIST sample, with
evaluation on its 1,000 validation digits, trained for ``--epochs`` epochs
from the same seed with each monitor set:

- ``bare``: no monitors beyond the default evaluation Accuracy and Cost;
- ``recording``: a per-step monitor that does nothing; a per-step monitor
  makes the loop take its recording path (the step's decay and gradient
  parts kept, the weights copied before the step), which this isolates;
- ``anatomy``: the set of ``examples/decay_anatomy.py`` (AngularUpdate,
  NormBudget, Balance, Saturation, LayerStatistics(biases=True), SumVsAbsSum,
  WeightNorms);
- ``per-step``: its two per-step monitors alone (AngularUpdate, NormBudget);
- ``tailoff``: the set of ``examples/tailoff_study.py`` (NormBudget,
  DecayPrediction).

One round trains each set once, in that order; rounds repeat ``--repeats``
times after one untimed warm-up round. The overhead ratio of a set is the
median over rounds of (its time / the same round's bare time), in wall and
in CPU time (``time.process_time``: steadier on a shared machine). The
ratios of the per-step sets include the recording path's, so they cannot go
below ``recording``'s. To compare two trees, run the script with each on the
path::

    python benchmarks/monitor_speed.py [--epochs 2] [--repeats 5]
    PYTHONPATH=/path/to/other/checkout python benchmarks/monitor_speed.py
"""

import argparse
import statistics
import time

import wdecay
from wdecay import monitors as M
from wdecay.datasets import load_mnist_sample


class Recording(M.Monitor):
    """A per-step monitor that does nothing: the cost of the loop's recording path alone."""

    def on_batch_end(self, state):
        pass


SETS = {
    "bare": list,
    "recording": lambda: [Recording()],
    "anatomy": lambda: [M.AngularUpdate(), M.NormBudget(), M.Balance(), M.Saturation(),
                        M.LayerStatistics(biases=True), M.SumVsAbsSum(), M.WeightNorms()],
    "per-step": lambda: [M.AngularUpdate(), M.NormBudget()],
    "tailoff": lambda: [M.NormBudget(), M.DecayPrediction()],
}


def timed_fit(data, monitors, epochs):
    """(wall, cpu) seconds of one ``fit`` from the seed network with ``monitors``."""
    (X, y), (Xv, yv) = data
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    net.fit(X, y, epochs=epochs, batch_size=10, eta=0.1, regularizer=wdecay.L2(50.0),
            evaluation_data=(Xv, yv), monitors=monitors, seed=0)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    args = parser.parse_args(argv)
    train, validation, _ = load_mnist_sample()
    data = (train, validation)
    print(f"wdecay from {wdecay.__file__}; {len(train[0])} training digits, "
          f"{args.epochs} epochs per fit, {args.repeats} rounds")
    for name, make in SETS.items():  # warm-up round: imports, first touch of memory
        timed_fit(data, make(), 1)
    times = {name: [] for name in SETS}
    for _ in range(args.repeats):
        for name, make in SETS.items():
            times[name].append(timed_fit(data, make(), args.epochs))
    steps = args.epochs * -(-len(train[0]) // 10)
    bare = times["bare"]
    print(f"{'monitors':<10} {'wall s':>7} {'cpu s':>7} {'us/step':>8} "
          f"{'overhead (wall)':>15} {'overhead (cpu)':>14}")
    for name, ts in times.items():
        wall = statistics.median(t[0] for t in ts)
        cpu = statistics.median(t[1] for t in ts)
        ratio_wall = statistics.median(t[0] / b[0] for t, b in zip(ts, bare))
        ratio_cpu = statistics.median(t[1] / b[1] for t, b in zip(ts, bare))
        print(f"{name:<10} {wall:>7.3f} {cpu:>7.3f} {1e6 * cpu / steps:>8.1f} "
              f"{ratio_wall:>14.2f}x {ratio_cpu:>13.2f}x")
    return times


if __name__ == "__main__":
    main()
