"""A newcomer's first steps in Python: what fit records without monitors, and the error saying so."""

import numpy as np
import pytest

import wdecay
from wdecay.training import fit


def test_fit_without_monitors_records_only_epoch_and_the_error_says_what_to_pass():
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 4)), rng.integers(0, 2, 20)
    h = wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=1, batch_size=5, eta=0.5, seed=0)
    assert h.keys() == ["epoch"]
    with pytest.raises(KeyError) as info:
        h["layer1/rms"]
    text = str(info.value)
    assert "keys are ['epoch']" in text and "fit() without monitors records only 'epoch'" in text
    assert "monitors=wdecay.monitors.diagnostics()" in text
    assert "without monitors the\n        history holds only ``epoch``" in fit.__doc__.replace(
        "Without", "without")
