"""Epoch time of the seed network on 50,000 examples with and without monitors.

Epoch-level monitors (WeightNorms, LayerStatistics, SumVsAbsSum, DecayPrediction
and evaluation Accuracy on 10,000 examples) against a bare epoch; NormBudget,
which works after every step, separately. Interleaved repeats, medians.

    python benchmarks/monitor_overhead.py [--repeats 5]
"""

import argparse

from _common import blas_info, interleaved, training_data

import wdecay
from wdecay import monitors as M


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


if __name__ == "__main__":
    main()
