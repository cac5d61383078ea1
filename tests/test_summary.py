"""The run summary's wording, case by case, on hand-made histories (exact sentences)."""

import math

import pytest

import wdecay
from wdecay.history import History
from wdecay.summary import TablePrinter, summarize, summary_text

SETTINGS = dict(regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=3, seed=0,
                n_train=4000)


def layer_record(epoch, rms, R=math.nan, kappa=0.0, departure=math.nan, tailoff=math.nan,
                 ratio=1.0, D=-1.0, G=0.0, Q=0.0):
    return {"rms": rms, "rms_ratio": ratio, "predicted_rms": rms / ratio,
            "departure_epoch": departure, "tailoff_epoch": tailoff, "R": R,
            "budget_D": D if epoch else math.nan, "budget_G": G if epoch else math.nan,
            "budget_Q": Q if epoch else math.nan, "kappa": kappa, "cancellation": 0.5,
            "induced_l1": 1.0, "abs_sum": 2.0, "ref_inv_sqrt_N": 0.1,
            "ref_inv_sqrt_fan_in": 0.5, "ref_inv_sqrt_input_power": 0.25, "mean_fprime": 0.2}


def history(layers):
    """``layers``: per layer a list of layer_record kwargs, one per epoch."""
    h = History()
    for epoch in range(len(layers[0])):
        rec = {"epoch": epoch, "eval/accuracy": 0.5}
        for l, per_epoch in enumerate(layers, 1):
            rec.update({f"layer{l}/{k}": v
                        for k, v in layer_record(epoch, **per_epoch[epoch]).items()})
        h.append(rec)
    return h


NET = wdecay.Network([4, 3, 2], seed=0)  # layer 1 (3, 4), layer 2 (2, 3); N = 18


def text(layers, **settings):
    s = {**SETTINGS, **settings}
    return summary_text(summarize(history(layers), NET, s, 0.75)).splitlines()


DOMINATED = [dict(rms=1.0, kappa=0.02), dict(rms=0.9, R=0.05, kappa=0.1),
             dict(rms=0.8, R=0.1, kappa=0.2), dict(rms=0.7, R=0.2, kappa=0.3, G=0.2, Q=0.01)]
GROWS = [dict(rms=0.2, kappa=3.0, departure=1), dict(rms=0.3, R=2.0, kappa=2.5, departure=1,
         tailoff=1), dict(rms=0.35, R=1.2, kappa=1.3, departure=1, tailoff=1),
         dict(rms=0.36, R=1.0, kappa=1.02, departure=1, tailoff=1, G=0.97, Q=0.03)]


def test_decay_dominated_layer_and_a_layer_that_grows():
    lines = text([DOMINATED, GROWS])
    assert lines[0] == ("L2 lmbda=5, eta=0.1, batch 10, 3 epochs, seed 0: test accuracy 0.7500 "
                        "(validation 0.5000).")
    assert lines[1].startswith("  R = (G + Q)/(-D) = 1 + d||W||^2/|D| per epoch")
    assert lines[1].endswith("N = 18 is the number of weights, n = 4000 the training rows.")
    assert lines[2:] == [
        "Layer 1 (3, 4): RMS shrank by a factor of 0.700 (1.0000 -> 0.7000).",
        "  On the pure-decay curve throughout: for all 3 epochs it followed the penalty's "
        "step alone (0.7000 now) within 0.00%.",
        "  Not there yet: R is 0.200 (< 0.5) after 3 epochs: decay still removes more of "
        "||W||^2 than the gradient gives back.",
        "  It shrank because it started above the level where the gradient balances decay for "
        "this lmbda/n, and decay set its norm.",
        "  At the start kappa = 0.020: the gradient's radial pull was negligible, so decay alone "
        "set the norm. At the end kappa = 0.300; the gradient supplies G/(-D) = 0.200 and the "
        "second-order term Q/(-D) = 0.010 of the balance.",
        "  The exercise's 1/sqrt(N) = 0.1000 is 7 times below the RMS now; the level decay stops "
        "at is set by lmbda/n and the data, not by N (also 1/sqrt(n_in) = 0.5000, "
        "1/sqrt(E|a_in|^2) = 0.2500).",
        "Layer 2 (2, 3): RMS grew by a factor of 1.800 (0.2000 -> 0.3600).",
        "  Never on the pure-decay curve: within epoch 1 it left it (R = 2.000 in epoch 1).",
        "  R first reached 0.5 in epoch 1, but with no pure-decay phase there was no "
        "tail-off; R is now 1.000, where the gradient balances decay.",
        "  It grew overall because it started below the level where the gradient balances "
        "decay for this lmbda/n (0.2000 against 0.3600 now).",
        "  At the start kappa = 3.000: the gradient pushed outwards harder than decay pulled. "
        "At the end kappa = 1.020; the gradient supplies G/(-D) = 0.970 and the second-order "
        "term Q/(-D) = 0.030 of the balance.",
        "  The exercise's 1/sqrt(N) = 0.1000 is 4 times below the RMS now; the level decay stops "
        "at is set by lmbda/n and the data, not by N (also 1/sqrt(n_in) = 0.5000, "
        "1/sqrt(E|a_in|^2) = 0.2500).",
    ]
    assert not any("tailed off at epoch" in line or "would need" in line for line in lines)


def test_negative_R_says_the_gradient_shrinks_the_layer():
    shrinks = [dict(rms=1.0, kappa=-30.0, departure=1),
               dict(rms=0.5, R=-2.76, kappa=-3.0, departure=1, D=-1.0, G=2.76),
               dict(rms=0.6, R=0.7, kappa=0.6, departure=1, tailoff=2),
               dict(rms=0.62, R=0.95, kappa=0.9, departure=1, tailoff=2)]
    lines = text([DOMINATED, shrinks])
    i = lines.index("Layer 2 (2, 3): RMS shrank by a factor of 0.620 (1.0000 -> 0.6200).")
    assert lines[i + 1:i + 6] == [
        "  Never on the pure-decay curve: within epoch 1 it left it (R = -2.760 in epoch 1).",
        "  R < 0 in epoch 1: the gradient shrank the layer too, removing 2.76 times as much of "
        "||W||^2 as decay did.",
        "  R first reached 0.5 in epoch 2, but with no pure-decay phase there was no "
        "tail-off; R is now 0.950, where the gradient balances decay.",
        "  It shrank overall because it started above the level where the gradient balances "
        "decay for this lmbda/n (1.0000 against 0.6200 now; R = 0.950 < 1, so it is still "
        "shrinking slightly).",
        "  At the start kappa = -30.000: the gradient pulled the layer inwards, faster than "
        "decay. At the end kappa = 0.900; the gradient supplies G/(-D) = 0.000 and the "
        "second-order term Q/(-D) = 0.000 of the balance.",
    ]


def test_tailoff_reached_and_levelled():
    levels = [dict(rms=1.0, kappa=0.0), dict(rms=0.5, R=0.2, kappa=0.2),
              dict(rms=0.3, R=0.6, kappa=0.6, departure=2, tailoff=2, ratio=1.2),
              dict(rms=0.29, R=1.0, kappa=0.95, departure=2, tailoff=2, ratio=1.5)]
    lines = text([levels, GROWS])
    assert lines[3] == ("  On the pure-decay curve for 1 epoch: it followed the penalty's "
                        "step alone within 0.00%, then left it.")
    assert lines[4] == ("  Decay stopped dominating at epoch 2 (R reached 0.5) at RMS 0.3000; R is "
                        "now 1.000, so it has levelled off.")


@pytest.mark.parametrize("settings", [dict(regularizer="none", lmbda=5.0),
                                      dict(regularizer="l2", lmbda=0.0)])
def test_no_decay(settings):
    flat = [dict(rms=1.0, kappa=math.nan), dict(rms=1.1, kappa=math.nan, departure=1)]
    lines = text([flat, flat], epochs=1, **settings)
    assert lines == [
        "no decay, eta=0.1, batch 10, 1 epoch, seed 0: test accuracy 0.7500 (validation 0.5000).",
        "Layer 1 (3, 4): RMS grew by a factor of 1.100 (1.0000 -> 1.1000).",
        "  No decay in this run, so there is no level set by lmbda/n: the gradient alone moved "
        "the weights.",
        "  The exercise's 1/sqrt(N) = 0.1000 is 11 times below the measured RMS; without decay "
        "nothing pulls the weights towards it.",
        "Layer 2 (2, 3): RMS grew by a factor of 1.100 (1.0000 -> 1.1000).",
        "  No decay in this run, so there is no level set by lmbda/n: the gradient alone moved "
        "the weights.",
        "  The exercise's 1/sqrt(N) = 0.1000 is 11 times below the measured RMS; without decay "
        "nothing pulls the weights towards it.",
    ]


def test_no_decay_is_read_from_the_balance_monitor_when_recorded():
    flat = [dict(rms=1.0, kappa=math.nan), dict(rms=1.1, kappa=math.nan, departure=1)]
    h = history([flat, flat])
    for record in h:
        record["layer1/radial_decay"] = 0.0
    lines = summary_text(summarize(h, NET, {**SETTINGS, "epochs": 1}, 0.75)).splitlines()
    assert lines[0].startswith("no decay, eta=0.1")


def test_zero_epochs():
    lines = text([[dict(rms=1.0)], [dict(rms=1.0)]], epochs=0)
    assert lines[1] == ("No epochs were run: the weights are the initial ones, so there is "
                        "nothing to say yet about what decay does to them.")
    assert len(lines) == 2


def test_prediction_is_reported_beside_the_measurement():
    from wdecay.equilibrium import LayerPrediction, TailoffPrediction

    pred = TailoffPrediction([
        LayerPrediction(1, 1.0, 0.5, 2.4, 0.02, 0.0, 1.0, 1.0, True, ""),
        LayerPrediction(2, 0.2, 0.36, None, 3.0, 3.0, 1.0, 1.0, False,
                        "starts below its plateau (0.2 <= 0.36): the gradient makes it grow; "
                        "decay never dominates")], 1.25e-3, 400, 0.95)
    levels = [dict(rms=1.0, kappa=0.0), dict(rms=0.7, R=0.2, kappa=0.2),
              dict(rms=0.52, R=0.6, kappa=0.6, departure=2, tailoff=2, ratio=1.2),
              dict(rms=0.5, R=1.0, kappa=0.95, departure=2, tailoff=2, ratio=1.5)]
    s = summarize(history([levels, GROWS]), NET, SETTINGS, 0.75, prediction=pred)
    lines = summary_text(s).splitlines()
    assert ("  Heading for its plateau RMS 0.5000: the stationary point of C0 + penalty, set by "
            "lmbda/n = 0.00125.") in lines
    assert "  Predicted tail-off epoch 2.4, measured 2." in lines
    assert ("  No tail-off epoch predicted: starts below its plateau (0.2 <= 0.36): the gradient "
            "makes it grow; decay never dominates.") in lines


def test_table_names_layers_in_words():
    import io

    out = io.StringIO()
    printer = TablePrinter(2, out)

    class State:
        record = {}
        epoch = 0

    printer.on_train_begin(State)
    head = out.getvalue().splitlines()[0]
    assert "layer 1" in head and "layer 2" in head and " L1 " not in head and "kappa" in head


@pytest.mark.parametrize("settings", [dict(regularizer="none"), dict(lmbda=0.0), dict(epochs=0),
                                      dict()])
def test_real_runs_on_a_small_sample(settings):
    from wdecay.datasets import load_mnist_sample
    from wdecay.experiment import run

    (X, y), (Xv, yv), test = load_mnist_sample()
    splits = ((X[:200], y[:200]), (Xv[:100], yv[:100]), test)
    _, history, summary = run(splits, {"epochs": 2, **settings}, table=False)
    text = summary_text(summary)
    if settings.get("epochs") == 0:
        assert "No epochs were run" in text
    elif settings:
        assert text.startswith("no decay") and text.count("No decay in this run") == 2
    else:
        assert text.startswith("L2 lmbda=5") and "R = (G + Q)/(-D)" in text
        assert all(not math.isnan(L["kappa_initial"]) for L in summary["layers"])
    assert "tailed off at epoch" not in text and "would need" not in text


def test_a_layer_never_decay_dominated_has_no_tailoff_epoch_in_the_numbers_either():
    """summary.json and report.html say what the text says: no tail-off, R >= 0.5 from epoch 1."""
    layers = summarize(history([DOMINATED, GROWS]), NET, SETTINGS, 0.75)["layers"]
    assert math.isnan(layers[1]["tailoff_epoch"]) and layers[1]["R_half_epoch"] == 1
    assert math.isnan(layers[1]["rms_at_tailoff"])
