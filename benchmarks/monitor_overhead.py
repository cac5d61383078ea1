"""Epoch time of the seed network on 50,000 examples with and without monitors.

Epoch-level monitors (WeightNorms, LayerStatistics, SumVsAbsSum, DecayPrediction
and evaluation Accuracy on 10,000 examples) against a bare epoch; NormBudget,
which works after every step, separately. Interleaved repeats, medians.

    python benchmarks/monitor_overhead.py [--repeats 5]
"""

import argparse
import time

from _common import blas_info, interleaved, training_data

import wdecay
from wdecay import monitors as M


class Timed(M.Monitor):
    """Wraps a monitor and adds the time spent in its hooks to ``spent``."""

    spent = 0.0

    def __init__(self, inner):
        self.inner = inner
        self.needs_weights_before = inner.needs_weights_before
        for hook in ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end") + (
                ("on_batch_end",) if M.base.overrides_batch_end(inner) else ()):
            setattr(self, hook, self._wrap(getattr(inner, hook)))

    def _wrap(self, fn):
        def timed(state):
            t0 = time.perf_counter()
            try:
                return fn(state)
            finally:
                Timed.spent += time.perf_counter() - t0
        return timed


def accounted(net, X, y, Xv, yv, monitors, epochs):
    """Seconds inside the monitors' hooks against the whole fit, in one run."""
    Timed.spent = 0.0
    t0 = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
            monitors=[Timed(m) for m in monitors], evaluation_data=(Xv, yv), seed=0)
    total = time.perf_counter() - t0
    return Timed.spent, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed fit call")
    args = parser.parse_args()
    source, X, y, Xv, yv = training_data()
    print(f"data: {source}, {len(X)} training, {len(Xv)} evaluation; BLAS: {blas_info()}")
    net = wdecay.Network([784, 30, 10], initializer="large", seed=0)

    def run(monitors, evaluation=None):
        def go():
            net.fit(X, y, epochs=args.epochs, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                    monitors=monitors(), evaluation_data=evaluation, seed=0)
        return go

    epoch_level = lambda: [M.WeightNorms(), M.LayerStatistics(), M.SumVsAbsSum(),  # noqa: E731
                           M.DecayPrediction(), M.Accuracy("evaluation")]
    med, _ = interleaved({"bare": run(list),
                          "epoch-level": run(epoch_level, (Xv, yv)),
                          "NormBudget": run(lambda: [M.NormBudget()])}, args.repeats)
    # Each timed call trains args.epochs epochs and also records epoch 0, so the
    # epoch-level monitors run args.epochs + 1 times: the overhead is slightly overstated.
    bare = med["bare"] / args.epochs
    for name in ("epoch-level", "NormBudget"):
        per_epoch = med[name] / args.epochs
        print(f"{name:<12} {per_epoch:.3f} s/epoch vs bare {bare:.3f}: "
              f"{100 * (per_epoch / bare - 1):+.1f}%")
    # The medians above compare separate runs on a shared machine and swing by about
    # 10%; accounting inside one run is steadier. (For NormBudget it leaves out the
    # loop's own per-step copy of the step's parts.)
    spent, total = accounted(net, X, y, Xv, yv, epoch_level(), args.epochs)
    print(f"inside one run: epoch-level monitors took {spent:.3f} s of {total:.3f} s "
          f"({100 * spent / (total - spent):.1f}% of the rest)")
    spent, total = accounted(net, X, y, Xv, yv, [M.NormBudget()], args.epochs)
    print(f"inside one run: NormBudget took {spent:.3f} s of {total:.3f} s "
          f"({100 * spent / (total - spent):.1f}% of the rest)")


if __name__ == "__main__":
    main()
