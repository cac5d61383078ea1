"""AdamW's predictions against what torch runs measure, per tensor.

Trains models on the embedded 4,000 training digits with
``AdamW(lr=3e-3, weight_decay=1.0)`` on the weights (biases in a group without
decay), batch 50, watched by ``wdecay.torch``:

- ``MLP``: fc1 (784 -> 64) - ReLU - fc2 (64 -> 10);
- ``MLP+LN``: fc1 (no bias) - LayerNorm (no affine part) - ReLU - fc2, which
  makes fc1's weights scale-invariant (the loss does not change when
  fc1.weight is scaled), with Adam's default beta1 = 0.9 and with beta1 = 0;
- ``CNN``: :class:`wdecay.torch.models.SmallCNN`.

Per decayed tensor it reports the decay timescale tau = 1/(lr wd) in epochs,
the measured RMS at the start and at the end, the rotational-equilibrium
estimate RMS_eq = RMS(n) sqrt(lr / (2 wd)) from the last epoch's normalised
gradients n = g / (sqrt(v_hat) + eps) (Kosson et al. 2023; see
:mod:`wdecay.torch.predict`), measured / estimate, and the last epoch's norm
budget split Q/(-D) and G/(-D) (R = their sum).
Writes the table as JSON (``--out``, default
``docs/figures/torch_adamw_equilibrium.json``) and prints it as reST.

    python examples/torch_adamw_equilibrium.py [--epochs 15] [--out FILE]
"""

import argparse
import json
import os

import numpy as np
import torch
from torch import nn

from wdecay._files import atomic_write
from wdecay.datasets import load_mnist_sample
from wdecay.torch import watch
from wdecay.torch.models import SmallCNN, mlp, no_decay_groups

LR, WD, BATCH = 3e-3, 1.0, 50


class NormMLP(nn.Module):
    """fc1 - LayerNorm (no affine) - ReLU - fc2: fc1's weights are scale-invariant."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64, bias=False)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(torch.relu(nn.functional.layer_norm(self.fc1(x), (64,))))


MODELS = {  # name: (model, beta1)
    "MLP": (lambda: mlp([784, 64, 10]), 0.9),
    "MLP+LN": (NormMLP, 0.9),
    "MLP+LN, beta1=0": (NormMLP, 0.0),
    "CNN": (SmallCNN, 0.9),
}


def run(name, X, y, epochs, seed=0):
    torch.manual_seed(seed)
    make, beta1 = MODELS[name]
    model = make()
    if name == "CNN":
        X = X.reshape(-1, 1, 28, 28)
    opt = torch.optim.AdamW(no_decay_groups(model, WD), lr=LR, betas=(beta1, 0.999))
    rng = np.random.default_rng(seed)
    with watch(model, opt) as rec:
        for _ in range(epochs):
            for idx in np.array_split(rng.permutation(len(X)), len(X) // BATCH):
                idx = torch.from_numpy(idx)
                opt.zero_grad()
                nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
                opt.step()
            rec.epoch_end()
    h, rows = rec.history, []
    for t in rec.tensors:
        if t.param.ndim < 2:
            continue
        k = t.name + "/"
        rows.append({"model": name, "tensor": t.name, "shape": list(t.param.shape),
                     "tau_epochs": h.last(k + "tau_epochs"), "rms_start": h[k + "rms"][0],
                     "rms_end": h.last(k + "rms"), "eq_rms": h.last(k + "eq_rms"),
                     "ratio": h.last(k + "eq_ratio"), "Q_ratio": h.last(k + "Q_ratio"),
                     "G_ratio": h.last(k + "G_ratio"), "epochs": epochs})
    return rows


COLUMNS = (("model", "{}"), ("tensor", "{}"), ("tau_epochs", "{:.2f}"), ("rms_start", "{:.4f}"),
           ("rms_end", "{:.4f}"), ("eq_rms", "{:.4f}"), ("ratio", "{:.2f}"),
           ("Q_ratio", "{:.3f}"), ("G_ratio", "{:.3f}"))
HEADERS = ("model", "tensor", "tau (epochs)", "RMS start", "RMS end", "RMS_eq estimate",
           "measured / estimate", "Q/(-D)", "G/(-D)")


def rst_table(rows):
    """The rows as a reST simple table (what docs/torch.rst shows)."""
    cells = [list(HEADERS)] + [[fmt.format(r[key]) for key, fmt in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells[1:]]
    return "\n".join(lines + [rule])


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if small else 15)
    parser.add_argument("--out", default="torch_adamw_equilibrium.json" if small else
                        os.path.join(os.path.dirname(__file__), "..", "docs", "figures",
                                     "torch_adamw_equilibrium.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    (X, y), _, _ = load_mnist_sample()
    if small:
        X, y = X[:500], y[:500]
    X, y = torch.from_numpy(X).float(), torch.from_numpy(y)
    rows = [row for name in MODELS for row in run(name, X, y, args.epochs)]
    settings = {"lr": LR, "weight_decay": WD, "batch_size": BATCH, "n": len(X),
                "epochs": args.epochs, "dtype": "float32"}
    atomic_write(args.out, (json.dumps({"settings": settings, "rows": rows}, indent=1)
                            + "\n").encode())
    print(f"AdamW(lr={LR:g}, weight_decay={WD:g}), batch {BATCH}, {len(X)} digits, "
          f"{args.epochs} epochs")
    print(rst_table(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
