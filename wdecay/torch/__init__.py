"""wdecay's monitors, exact norm budget and decay predictions on a PyTorch model.

Two lines on a plain PyTorch loop::

    rec = wdecay.torch.watch(model, optimizer, path="runs/mlp")   # epoch 0 recorded here
    for epoch in range(epochs):
        for X, y in loader:
            ...; loss.backward(); optimizer.step()
        rec.epoch_end()                                              # one record per epoch
    rec.close()                                                      # or: with watch(...) as rec

Every parameter tensor is named as PyTorch names it: keys are ``fc1.weight/rms``,
``fc1.weight/budget_D`` and so on. Whether a tensor is decayed, and by how much,
is read from the optimizer's ``param_groups`` at every step. The exact budget
D + G + Q = Delta ||W||^2 is computed for ``torch.optim.SGD`` (coupled
``weight_decay``, ``momentum``, ``nesterov``), ``Adam`` (coupled) and ``AdamW``
(decoupled); any other optimizer or option gets the measured change and the
statement that the decay part is unknown. See ``docs/torch.rst``.

torch is optional: ``import wdecay`` never imports it, and this module raises
an ImportError saying how to install it.
"""

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('wdecay.torch needs PyTorch: pip install torch==2.13.0 (CPU wheel), '
                      'then pip install "wdecay[torch]"') from exc

from .decomposition import UNKNOWN, decay_rule
from .predict import adamw_equilibrium
from .recorder import Recorder, watch

__all__ = ["watch", "Recorder", "decay_rule", "adamw_equilibrium", "UNKNOWN"]
