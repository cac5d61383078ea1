"""Runs that several test modules read, each made once per test session.

``seed_experiment()`` is ``wdecay experiment --quiet``, the seed question's default run:
tests/test_docs.py checks its printed summary, tests/test_docs_numbers.py the norm budget
of the same training (before, each trained it: about 2 s of the fast suite).
"""

import contextlib
import functools
import io
from unittest import mock


@functools.cache
def seed_experiment():
    """``(exit code, printed output, settings, history)`` of ``wdecay experiment --quiet``.

    The CLI's own run; its settings and history are read by wrapping
    :func:`wdecay.experiment.run`, which the CLI calls (nothing else changes).
    """
    from wdecay import experiment as E
    from wdecay.cli import main

    runs, run = [], E.run

    def watched(splits, settings, *args, **kwargs):
        net, history, summary = run(splits, settings, *args, **kwargs)
        runs.append((dict(settings), history))
        return net, history, summary

    out = io.StringIO()
    with mock.patch.object(E, "run", watched), contextlib.redirect_stdout(out):
        code = main(["experiment", "--quiet"])
    (settings, history), = runs
    return code, out.getvalue(), settings, history
