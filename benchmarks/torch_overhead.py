"""What watching a torch model costs: a plain epoch against epoch-level monitors and the budget.

Model: an MLP [784, 256, 256, 10] (ReLU), float32, CPU, batch 64, AdamW on the
weights (biases without decay), on the embedded MNIST digits tiled to
``--rows`` rows. Three variants, each timed over one epoch (steps plus
``rec.epoch_end()``), in rounds after one untimed round; within a round the
variants take turns slice by slice (``--chunks`` slices of an epoch, the order
rotating), so that a change of a shared machine's load hits them alike.
Printed, for the wall-clock time and for the process's CPU time (which leaves
out the time other jobs hold the core): the median epoch, its ratio to the
plain median, and the median over rounds of each round's own ratio:

- ``plain``: no wdecay;
- ``epoch-level``: ``watch`` with WeightNorms, LayerStatistics and SumVsAbsSum
  (and the AdamW predictions, which track the pure-decay factor per step);
- ``budget``: the defaults, which add NormBudget: the exact per-step budget
  (one copy of each tensor before the step, three dot products per tensor).

    python benchmarks/torch_overhead.py [--rows 12800] [--repeats 7] [--chunks 10] [--threads 1]

Four runs with ``--repeats 9`` on the shared 2-core development machine (load
average 5 to 7; docs/torch.rst, "Overhead"): epoch-level 0.99 to 1.04 of a plain
epoch, the per-step budget 1.18 to 1.21 (wall clock) and 1.17 to 1.21 (CPU time),
medians of the rounds' ratios.
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


def make_epoch(variant, X, y, batch_size, chunks):
    """The variant's epoch as ``chunks`` callables: its steps in slices, then ``epoch_end``."""
    torch.manual_seed(0)
    model = mlp([784, 256, 256, 10])
    opt = torch.optim.AdamW(no_decay_groups(model, 0.05), lr=1e-3)
    rec = None if variant == "plain" else watch(model, opt, monitors=VARIANTS[variant]())
    batches = [torch.arange(k, min(k + batch_size, len(X))) for k in range(0, len(X), batch_size)]
    size = -(-len(batches) // chunks)

    def steps(part, last):
        def run():
            for idx in part:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
                opt.step()
            if last and rec is not None:
                rec.epoch_end()
        return run

    parts = [batches[k:k + size] for k in range(0, len(batches), size)]
    return [steps(part, k == len(parts) - 1) for k, part in enumerate(parts)]


def rounds(epochs, repeats):
    """``repeats`` rounds of one epoch per variant, the variants' slices interleaved.

    Within a round the variants take turns slice by slice (the order rotated from
    round to round), so a change of the machine's load hits them alike. Returns
    ``{"wall": {variant: [seconds per epoch]}, "cpu": {...}}`` (one untimed round first).
    """
    names = list(epochs)
    for parts in epochs.values():
        for part in parts:
            part()
    times = {clock: {name: [] for name in names} for clock in ("wall", "cpu")}
    for r in range(repeats):
        wall, cpu = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
        for k in range(len(epochs[names[0]])):
            for name in names[(r + k) % len(names):] + names[:(r + k) % len(names)]:
                t0, c0 = time.perf_counter(), time.process_time()
                epochs[name][k]()
                wall[name] += time.perf_counter() - t0
                cpu[name] += time.process_time() - c0
        for name in names:
            times["wall"][name].append(wall[name])
            times["cpu"][name].append(cpu[name])
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
    parser.add_argument("--chunks", type=int, default=10, help="slices of an epoch")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = mnist_tiled(args.rows)
    X, y = torch.from_numpy(X).float(), torch.from_numpy(y)
    fns = {name: make_epoch(name, X, y, args.batch_size, args.chunks) for name in VARIANTS}
    result = {clock: summary(ts) for clock, ts in rounds(fns, args.repeats).items()}
    steps = -(-args.rows // args.batch_size)
    print(f"MLP [784, 256, 256, 10] float32, CPU, {torch.get_num_threads()} thread(s), "
          f"batch {args.batch_size}, {args.rows} rows ({steps} steps), AdamW, "
          f"{args.repeats} rounds interleaved in {len(fns['plain'])} slices, medians; "
          f"torch {torch.__version__}")
    print(f"{'':<12} {'wall clock':-^42}  {'CPU time':-^42}")
    print(f"{'variant':<12}" + f" {'epoch (s)':>10} {'ratio of medians':>17} {'median ratio':>13} " * 2)
    for name in fns:
        print(f"{name:<12}" + "".join(f" {t:>10.3f} {r:>17.3f} {q:>13.3f} " for t, r, q in
                                      (result[clock][name] for clock in ("wall", "cpu"))))
    return result


if __name__ == "__main__":
    main()
