"""Doctest collection over wdecay/: skip modules whose optional dependency is missing."""

import importlib.util

# numba_backend imports without numba, but its doctests show the kernel's answers
OPTIONAL = {"matplotlib": ["wdecay/plot.py"], "numba": ["wdecay/numba_backend.py"],
            "torch": ["wdecay/torch"]}

collect_ignore = ["wdecay/__main__.py"]
for module, paths in OPTIONAL.items():
    if importlib.util.find_spec(module) is None:
        collect_ignore += paths
