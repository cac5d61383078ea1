"""What watching a torch model costs: a plain epoch against epoch-level monitors and the budget.

Model: an MLP [784, 256, 256, 10] (ReLU), float32, CPU, batch 64, AdamW on the
weights (biases without decay), on the embedded MNIST digits tiled to
``--rows`` rows. Three variants, each timed over one epoch (steps plus
``rec.epoch_end()``), in interleaved rounds, medians:

- ``plain``: no wdecay;
- ``epoch-level``: ``watch`` with WeightNorms, LayerStatistics and SumVsAbsSum
  (and the AdamW predictions, which track the pure-decay factor per step);
- ``budget``: the defaults, which add NormBudget: the exact per-step budget
  (one copy of each tensor before the step, a few float64 dot products after).

    python benchmarks/torch_overhead.py [--rows 12800] [--repeats 7] [--threads 1]
"""

import argparse

import torch
from _common import interleaved, mnist_tiled

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
    med, _ = interleaved(fns, args.repeats)
    steps = -(-args.rows // args.batch_size)
    print(f"MLP [784, 256, 256, 10] float32, CPU, {torch.get_num_threads()} thread(s), "
          f"batch {args.batch_size}, {args.rows} rows ({steps} steps), AdamW, "
          f"{args.repeats} interleaved rounds, medians; torch {torch.__version__}")
    print(f"{'variant':<12} {'epoch (s)':>10} {'ratio to plain':>15}")
    for name, t in med.items():
        print(f"{name:<12} {t:>10.3f} {t / med['plain']:>15.3f}")
    return med


if __name__ == "__main__":
    main()
