"""What watching a torch model costs: a plain epoch against epoch-level monitors and the budget.

Model: an MLP [784, 256, 256, 10] (ReLU), float32, CPU, batch 64, AdamW on the
weights (biases without decay), on the embedded MNIST digits tiled to
``--rows`` rows. Three variants, each timed over one epoch (steps plus
``rec.epoch_end()``), in interleaved rounds (the order rotates from round to
round), after one untimed round. Printed, for the wall-clock time and for the
process's CPU time (which leaves out the time other jobs on a shared machine
hold the core): the median epoch, its ratio to the plain median, and the
median over rounds of each round's own ratio (steadier when the load changes
between rounds):

- ``plain``: no wdecay;
- ``epoch-level``: ``watch`` with WeightNorms, LayerStatistics and SumVsAbsSum
  (and the AdamW predictions, which track the pure-decay factor per step);
- ``budget``: the defaults, which add NormBudget: the exact per-step budget
  (one copy of each tensor before the step, three dot products per tensor).

    python benchmarks/torch_overhead.py [--rows 12800] [--repeats 7] [--threads 1]
"""

import argparse
import statistics
import time

import torch
from _common import mnist_tiled

from wdecay import monitors as M
from wdecay.torch import watch
from wdecay.torch.models import mlp, no_decay_groups

VARIANTS = {"plain": None,
            "epoch-level": lambda: [M.WeightNorms(), M.LayerStatistics(), M.SumVsAbsSum()],
            "budget": lambda: None}  # None: watch's defaults, NormBudget included


def make_epoch(variant, X, y, batch_size):
    torch.manual_seed(0)
    model = mlp([784, 256, 256, 10])
    opt = torch.optim.AdamW(no_decay_groups(model, 0.05), lr=1e-3)
    rec = None if variant == "plain" else watch(model, opt, monitors=VARIANTS[variant]())
    batches = [torch.arange(k, min(k + batch_size, len(X))) for k in range(0, len(X), batch_size)]

    def epoch():
        for idx in batches:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
        if rec is not None:
            rec.epoch_end()

    return epoch


def rounds(fns, repeats):
    """Each callable once per round, ``repeats`` rounds, the order rotated each round.

    Returns ``{"wall": {variant: [seconds]}, "cpu": {...}}`` (one untimed round first).
    """
    names = list(fns)
    for fn in fns.values():
        fn()
    times = {clock: {name: [] for name in names} for clock in ("wall", "cpu")}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0, c0 = time.perf_counter(), time.process_time()
            fns[name]()
            times["wall"][name].append(time.perf_counter() - t0)
            times["cpu"][name].append(time.process_time() - c0)
    return times


def summary(times):
    """Per variant: the median, its ratio to plain's median, the median of the rounds' ratios."""
    return {name: (statistics.median(ts), statistics.median(ts) / statistics.median(times["plain"]),
                   statistics.median(a / b for a, b in zip(ts, times["plain"])))
            for name, ts in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12_800)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = mnist_tiled(args.rows)
    X, y = torch.from_numpy(X).float(), torch.from_numpy(y)
    fns = {name: make_epoch(name, X, y, args.batch_size) for name in VARIANTS}
    result = {clock: summary(ts) for clock, ts in rounds(fns, args.repeats).items()}
    steps = -(-args.rows // args.batch_size)
    print(f"MLP [784, 256, 256, 10] float32, CPU, {torch.get_num_threads()} thread(s), "
          f"batch {args.batch_size}, {args.rows} rows ({steps} steps), AdamW, "
          f"{args.repeats} interleaved rounds, medians; torch {torch.__version__}")
    print(f"{'':<12} {'wall clock':-^42}  {'CPU time':-^42}")
    print(f"{'variant':<12}" + f" {'epoch (s)':>10} {'ratio of medians':>17} {'median ratio':>13} " * 2)
    for name in fns:
        print(f"{name:<12}" + "".join(f" {t:>10.3f} {r:>17.3f} {q:>13.3f} " for t, r, q in
                                      (result[clock][name] for clock in ("wall", "cpu"))))
    return result


if __name__ == "__main__":
    main()
