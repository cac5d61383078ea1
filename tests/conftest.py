import os

import pytest
from hypothesis import HealthCheck, settings

# Profiles chosen by HYPOTHESIS_PROFILE: "dev" (default, quick) or "ci" (thorough).
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _compile_wdecay():
    """Write the bytecode of the wdecay under test once, before anything imports it.

    The suite starts dozens of Python subprocesses (the CLI, the examples, the layering
    test's imports); where PYTHONDONTWRITEBYTECODE is set (as in the environment the CI
    runs were timed in) no ``.pyc`` was ever written and each of them compiled wdecay's
    sources again
    (test_every_module_imports_on_its_own: 7.7-13.2 s without bytecode, 2.6 s with it).
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("wdecay")  # finds the package without importing it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            compileall.compile_dir(folder, quiet=2)
        except OSError:  # a read-only install: imports compile as before
            pass


_compile_wdecay()

_STARTUP_THREADS = []  # (OpenBLAS library's thread count before the session, its setter)


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """The test process runs BLAS on one thread, as wdecay's training does.

    Outside training (the convex solves' L-BFGS, the equilibrium solves) BLAS
    keeps its default, two threads on a 2-core machine; on a busy machine their
    tiny products then waited for each other: tests/test_convex.py took 134 s
    with 2 threads and 13 s with 1 (HYPOTHESIS_PROFILE=ci, load about 6).
    Subprocesses keep their own default (nothing is set in the environment).
    """
    import numpy  # noqa: F401  (both wheels' OpenBLAS must be loaded to be pinned)
    import scipy.linalg  # noqa: F401
    import scipy.optimize  # noqa: F401

    from wdecay._threads import blas_threads, openblas_controls

    _STARTUP_THREADS[:] = [(get(), set_) for get, set_ in openblas_controls()]
    with blas_threads(1):
        yield


@pytest.fixture
def blas_default_threads(one_blas_thread):
    """For a test about BLAS pinning itself: the thread counts BLAS had before the session."""
    for count, set_ in _STARTUP_THREADS:
        set_(count)
    try:
        yield
    finally:
        for _, set_ in _STARTUP_THREADS:
            set_(1)
