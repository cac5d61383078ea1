"""The experiment's settings: their names, the book's defaults, and which optimizer takes which.

``wdecay experiment``, its command line, its summary and its checkpoints read
the settings from here. (The sweep grid and ``train_many`` keep their own
keys and defaults for now: ``initializer`` and ``init_seed`` there, ``init``
and ``seed`` here.)

Examples
--------
>>> DEFAULTS["lmbda"], DEFAULTS["sizes"]
(5.0, [784, 30, 10])
>>> OPTIMIZER_SETTINGS["adam"]
('beta1', 'beta2')
"""

from __future__ import annotations

#: The book's experiment (Nielsen, chapter 3) on the embedded sample.
DEFAULTS = dict(sizes=[784, 30, 10], init="large", cost="cross-entropy", activation="sigmoid",
                regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=30, seed=0,
                optimizer="sgd", momentum=0.9, beta1=0.9, beta2=0.999)

#: The settings each optimizer takes from a run's settings (the others are ignored).
OPTIMIZER_SETTINGS = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",),
                      "adam": ("beta1", "beta2"), "adamw": ("beta1", "beta2")}
