"""Pin the BLAS thread pool during training.

At batch sizes 10-100 the products of a ``[784, 30, 10]`` step are small. On
the 2-core development machine (``benchmarks/blas_threads.py``), two threads
were 2-9% faster per epoch when the other core was idle, but 12% (batch 10)
and 3x (batch 100) slower with the other core busy; one thread is the choice
that never loses much, so training pins BLAS to it.
``threadpoolctl`` (the ``fast`` extra) does the pinning; without it the
context manager does nothing and BLAS keeps its own default.
"""

from __future__ import annotations

import contextlib


def blas_threads(n):
    """Context manager limiting BLAS to ``n`` threads (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")
