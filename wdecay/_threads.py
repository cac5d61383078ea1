"""Pin the BLAS thread pool during training.

At batch sizes 10-100 the products of a ``[784, 30, 10]`` step are small. On
the 2-core development machine (``benchmarks/blas_threads.py``), two threads
were 2-9% faster per epoch when the other core was idle, but 12% (batch 10)
and 3x (batch 100) slower with the other core busy; one thread is the choice
that never loses much, so training pins BLAS to it.
``threadpoolctl`` (the ``fast`` extra) does the pinning when it is installed.
The core depends on numpy and scipy alone, so without it wdecay pins the
OpenBLAS libraries that numpy's and scipy's wheels load through their own
``*_set_num_threads`` functions (found in ``/proc/self/maps``, on Linux); where
there are none (another BLAS, another system) BLAS keeps its own default.

threadpoolctl finds the loaded libraries by scanning the process's shared
objects (about 1 ms, a few percent of a 10,000-row epoch), so one
``ThreadpoolController`` is kept and made again only when ``sys.modules`` has
grown since (an import is how a new BLAS gets loaded).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

#: The thread-count functions of OpenBLAS builds: plain, and the scipy-openblas wheels'.
_OPENBLAS_NAMES = [("openblas_get_num_threads", "openblas_set_num_threads"),
                   ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                   ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                   ("openblas_get_num_threads64_", "openblas_set_num_threads64_")]


def openblas_controls():
    """``[(get, set), ...]``: the thread-count functions of the OpenBLAS libraries loaded now.

    Empty where ``/proc/self/maps`` does not exist or no loaded library is an OpenBLAS.
    """
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh
                     if "openblas" in os.path.basename(line.split()[-1]).lower()}
    except OSError:
        return []
    controls = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _OPENBLAS_NAMES:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                controls.append((get, set_))
                break
    return controls


@contextlib.contextmanager
def _openblas_limits(n):
    controls = openblas_controls()
    before = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(n)
    try:
        yield
    finally:
        for (_, set_), k in zip(controls, before):
            set_(k)


#: ``(len(sys.modules), ThreadpoolController)`` of the last scan, or None.
_controller = None


def _threadpool_controller(ThreadpoolController):
    """The kept controller, made afresh if modules were imported since it was made."""
    global _controller
    key = len(sys.modules)
    if _controller is None or _controller[0] != key:
        _controller = (key, ThreadpoolController())
    return _controller[1]


def blas_threads(n):
    """Context manager limiting BLAS to ``n`` threads.

    threadpoolctl if installed (its ``ThreadpoolController.limit``, on a
    controller kept between calls), else the OpenBLAS libraries' own functions
    (:func:`openblas_controls`); a no-op where neither applies.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return _openblas_limits(n)
    return _threadpool_controller(ThreadpoolController).limit(limits=n, user_api="blas")
