"""BLAS pinning without threadpoolctl: the OpenBLAS libraries' own thread-count functions."""

import subprocess
import sys

import pytest

from wdecay import _threads


def test_openblas_pinning_sets_and_restores_the_thread_count(blas_default_threads):
    controls = _threads.openblas_controls()
    if not controls:
        pytest.skip("no OpenBLAS library loaded (another BLAS or system)")
    before = [get() for get, _ in controls]
    with _threads._openblas_limits(1):
        assert [get() for get, _ in controls] == [1] * len(controls)
    assert [get() for get, _ in controls] == before


def test_blas_threads_pins_without_threadpoolctl():
    """In a process where threadpoolctl cannot be imported, training still runs on one thread."""
    script = (
        "import sys; sys.modules['threadpoolctl'] = None\n"
        "import numpy, scipy.linalg\n"
        "from wdecay._threads import blas_threads, openblas_controls\n"
        "c = openblas_controls()\n"
        "with blas_threads(1):\n"
        "    inside = [get() for get, _ in c]\n"
        "print(len(c), inside)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split(maxsplit=1)
    if out[0] == "0":
        pytest.skip("no OpenBLAS library loaded (another BLAS or system)")
    assert set(eval(out[1])) == {1}
