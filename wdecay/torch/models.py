"""Small torch models for the examples and the benchmark (28 x 28 digits, 10 classes).

Examples
--------
>>> import torch
>>> SmallCNN()(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 10])
>>> [name for name, _ in mlp([784, 32, 10]).named_parameters()]
['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
"""

from __future__ import annotations

import torch
from torch import nn


class SmallCNN(nn.Module):
    """conv1 (1 -> 8, 5x5) - ReLU - max-pool 2 - conv2 (8 -> 16, 5x5) - ReLU - max-pool 2 - fc (256 -> 10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class MLP(nn.Sequential):
    """Linear layers ``fc1``, ``fc2``, ... with ReLU between them."""

    def __init__(self, sizes):
        super().__init__()
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
            if l > 1:
                self.add_module(f"relu{l - 1}", nn.ReLU())
            self.add_module(f"fc{l}", nn.Linear(n_in, n_out))


def mlp(sizes):
    """An :class:`MLP` of ``sizes`` (input first)."""
    return MLP(list(sizes))


def no_decay_groups(model, weight_decay):
    """Two groups: weights (ndim >= 2) with ``weight_decay``, biases and norms without."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]
