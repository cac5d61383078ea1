"""A small CNN trained by AdamW on the embedded digits, watched by wdecay.

conv1 - conv2 - fc (wdecay.torch.models.SmallCNN) on the 4,000 training
digits, batch 50, AdamW(lr=3e-3, weight_decay=0.5) on the weights and kernels and a
group without decay for the biases. Two lines attach wdecay: ``watch`` before
the loop and ``rec.epoch_end(...)`` after each epoch. Prints per epoch the
validation accuracy and, per decayed tensor, the RMS, the budget's R and the
rotational-equilibrium estimate; writes ``torch_cnn/`` (history.csv,
history.json, report.html). Under a minute on a laptop CPU.

    python examples/torch_cnn.py [--epochs 6]
"""

import argparse
import os
import time

import numpy as np
import torch

from wdecay.datasets import load_mnist_sample
from wdecay.torch import watch
from wdecay.torch.models import SmallCNN, no_decay_groups


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if small else 6)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    torch.manual_seed(0)
    (X, y), (Xv, yv), _ = load_mnist_sample()
    if small:
        X, y = X[:500], y[:500]
    X = torch.from_numpy(X).float().reshape(-1, 1, 28, 28)
    Xv = torch.from_numpy(Xv).float().reshape(-1, 1, 28, 28)
    y, yv = torch.from_numpy(y), torch.from_numpy(yv)
    model = SmallCNN()
    opt = torch.optim.AdamW(no_decay_groups(model, 0.5), lr=3e-3)
    rng = np.random.default_rng(0)
    with watch(model, opt, path="torch_cnn", mode="overwrite", n=len(X),
               title="SmallCNN, AdamW") as rec:
        for epoch in range(1, args.epochs + 1):
            model.train()
            for idx in np.array_split(rng.permutation(len(X)), len(X) // 50):
                idx = torch.from_numpy(idx)
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
                opt.step()
            with torch.no_grad():
                accuracy = float((model(Xv).argmax(1) == yv).float().mean())
            record = rec.epoch_end({"eval/accuracy": accuracy})
            parts = [f"{t.name} RMS {record[t.name + '/rms']:.4f} R {record[t.name + '/R']:.2f}"
                     f" eq {record[t.name + '/eq_rms']:.4f}"
                     for t in rec.tensors if t.param.ndim >= 2]
            print(f"epoch {epoch}: accuracy {accuracy:.3f}; " + "; ".join(parts))
    print(f"tau = 1/(lr wd) = {rec.history.last('conv1.weight/tau_steps'):.0f} steps "
          f"= {rec.history.last('conv1.weight/tau_epochs'):.2f} epochs")
    print(f"wrote torch_cnn/report.html in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
