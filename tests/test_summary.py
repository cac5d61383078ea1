"""The run summary's wording, case by case, on hand-made histories (exact sentences)."""

import math

import pytest

import wdecay
from wdecay.history import History
from wdecay.summary import TablePrinter, summarize, summary_text

SETTINGS = dict(regularizer="l2", lmbda=5.0, eta=0.1, batch_size=10, epochs=3, seed=0,
                n_train=4000)


def layer_record(epoch, rms, R=math.nan, kappa=0.0, departure=math.nan, tailoff=math.nan,
                 ratio=1.0, D=-1.0, G=None, Q=0.0):
    """One epoch of one layer; G defaults to the value that makes R = (G + Q)/(-D) hold."""
    if G is None:
        G = 0.0 if math.isnan(R) else R * -D - Q
    return {"rms": rms, "rms_ratio": ratio, "predicted_rms": rms / ratio,
            "departure_epoch": departure, "tailoff_epoch": tailoff, "R": R,
            "budget_D": D if epoch else math.nan, "budget_G": G if epoch else math.nan,
            "budget_Q": Q if epoch else math.nan, "Q_ratio": Q / -D if epoch and D else math.nan,
            "kappa": kappa, "cancellation": 0.5,
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


# predicted = rms / ratio: a curve falling 10% per epoch that layer 1 follows exactly
DOMINATED = [dict(rms=1.0, kappa=0.02), dict(rms=0.9, R=0.05, kappa=0.1),
             dict(rms=0.81, R=0.1, kappa=0.2), dict(rms=0.729, R=0.2, kappa=0.3, Q=0.01)]
# layer 2 grows: off the curve from epoch 1, R > 1, then levelled off for 3 epochs
GROWS = [dict(rms=0.2, kappa=3.0), dict(rms=0.3, R=1.2, kappa=1.1, tailoff=1, ratio=1.67),
         dict(rms=0.35, R=1.1, kappa=1.05, tailoff=1, ratio=2.16),
         dict(rms=0.36, R=1.0, kappa=0.97, tailoff=1, ratio=2.47, Q=0.03)]


def test_short_answer_then_details():
    lines = text([DOMINATED, GROWS])
    assert lines[0] == ("L2 lmbda=5, eta=0.1, batch 10, 3 epochs, seed 0: test accuracy 0.7500 "
                        "(validation 0.5000).")
    assert lines[1:4] == [
        "In short: layer 1 (the book's w^2, 4 -> 3) followed decay alone for all 3 epochs; it "
        "has not tailed off (R = 0.200 < 0.5 in epoch 3) and has not levelled off (RMS 0.7290 "
        "now).",
        "  The exercise's 1/sqrt(N) = 0.1000 (N = 100 weights): that RMS is 7 times above it; "
        "the level is set by lmbda/n and the data, not by N.",
        "  The output layer, layer 2 (the book's w^3, 3 -> 2), grew by a factor of 1.800: the "
        "gradient added 1.100 times the ||W||^2 decay removed (R > 1 in 2 of its 3 epochs); it "
        "levelled off at RMS 0.3600, where the gradient balances decay, so that level lies "
        "above its start (0.2000): it grew towards it.",
    ]
    assert "R = (G + Q)/(-D)" not in "\n".join(lines)  # the definitions: --explain only
    i = lines.index("Layer 1 (the book's w^2, 4 -> 3): RMS shrank by a factor of 0.729 "
                    "(1.0000 -> 0.7290).")
    assert lines[i + 1:i + 5] == [
        "  Decay alone in all 3 epochs: the RMS within 0.00% of the pure-decay curve and R "
        "between 0.050 and 0.200 (curve 0.7290, measured 0.7290).",
        "  No tail-off yet: R is 0.200 in epoch 3 (< 0.5): decay still removes more of ||W||^2 "
        "than the gradient gives back.",
        "  Not levelled off: R 0.050, 0.100, 0.200 in epochs 1-3 (levelled off needs R and "
        "kappa + Q/(-D) in 0.8-1.25 in each).",
        "  Why it shrank: over the 3 epochs the gradient gave back 0.117 of the ||W||^2 decay "
        "removed (R over the run = sum(G + Q)/sum(-D)).",
    ]
    j = lines.index("Layer 2 (the book's w^3, 3 -> 2): RMS grew by a factor of 1.800 "
                    "(0.2000 -> 0.3600).")
    assert lines[j + 1].startswith("  Not decay alone even in epoch 1: R = 1.200, the RMS "
                                   "+67.00% off the pure-decay curve")
    assert lines[j + 2] == ("  R reached 0.5 in epoch 1, but the layer was never decay alone "
                            "before, so that is no tail-off; R is 1.000 in epoch 3.")
    assert lines[j + 3] == (
        "  Levelled off: R 1.200, 1.100, 1.000 in epochs 1-3 and kappa + Q/(-D) 1.100, 1.050, "
        "1.000, all in 0.8-1.25: the gradient balances decay at RMS 0.3600 (in epoch 3 the "
        "gradient supplies G/(-D) = 0.970 and the second-order term Q/(-D) = 0.030 of the "
        "balance).")
    assert lines[j + 5] == ("  At the end of epoch 3 kappa = 0.970: the gradient pushes "
                            "outwards, less than decay pulls in.")
    assert not any("At the start" in line or "started above" in line for line in lines)


def test_negative_R_says_the_gradient_shrinks_the_layer():
    shrinks = [dict(rms=1.0, kappa=-30.0), dict(rms=0.5, R=-2.76, kappa=-3.0, ratio=0.55),
               dict(rms=0.6, R=0.7, kappa=0.6, tailoff=2, ratio=0.74),
               dict(rms=0.62, R=-0.05, kappa=0.9, tailoff=2, ratio=0.85)]
    lines = text([DOMINATED, shrinks])
    i = lines.index("Layer 2 (the book's w^3, 3 -> 2): RMS shrank by a factor of 0.620 "
                    "(1.0000 -> 0.6200).")
    assert lines[i + 2] == ("  R < 0 in epoch 1: the gradient shrank the layer too, removing "
                            "2.76 times as much of ||W||^2 as decay did.")
    assert lines[i + 5] == (
        "  Why it shrank: over the 3 epochs the gradient removed 0.70 times as much of ||W||^2 "
        "as decay did (R over the run = sum(G + Q)/sum(-D) = -0.703); R < -0.1 (the gradient "
        "shrank it too) in epoch 1.")
    assert not any("gives back" in line or "gave back" in line for line in lines[i:])


def test_tailoff_levelled_and_left_the_curve():
    levels = [dict(rms=1.0, kappa=0.0), dict(rms=0.9, R=0.1, kappa=0.1),
              dict(rms=0.85, R=0.6, kappa=0.6, tailoff=2, ratio=1.05),
              dict(rms=0.84, R=0.9, kappa=0.8, tailoff=2, ratio=1.15, Q=0.1),
              dict(rms=0.84, R=1.0, kappa=0.9, tailoff=2, ratio=1.28, Q=0.1),
              dict(rms=0.84, R=1.0, kappa=0.9, tailoff=2, ratio=1.42, Q=0.1)]
    lines = text([levels, GROWS + GROWS[-1:] * 2], epochs=5)
    assert lines[1] == ("In short: layer 1 (the book's w^2, 4 -> 3) followed decay alone for 1 "
                        "epoch (left the pure-decay curve in epoch 2); it tailed off (R reached "
                        "0.5) in epoch 2 and levelled off at RMS 0.8400.")
    i = lines.index("Layer 1 (the book's w^2, 4 -> 3): RMS shrank by a factor of 0.840 "
                    "(1.0000 -> 0.8400).")
    assert lines[i + 1] == ("  Decay alone for the first epoch (the RMS within 0.00% of the "
                            "pure-decay curve and R = 0.100); it left the pure-decay curve in "
                            "epoch 2 (R = 0.600, the RMS +5.00% off the curve).")
    assert lines[i + 2] == ("  Tail-off: R reached 0.5 in epoch 2, at RMS 0.8500; R is 1.000 "
                            "in epoch 5.")
    assert lines[i + 3].startswith("  Levelled off: R 0.900, 1.000, 1.000 in epochs 3-5")
    assert not any(line.startswith(("To reach the level", "To predict the level")) for line in lines)


def test_one_drifting_epoch_in_band_is_not_levelled():
    """R crossing into the band in the last epoch only (S2's layer 2) is not levelled off."""
    crosses = [dict(rms=1.0, kappa=-30.0), dict(rms=0.9, R=-39.8, kappa=-3.0),
               dict(rms=0.88, R=-18.5, kappa=-1.0), dict(rms=0.87, R=1.18, kappa=0.3)]
    lines = text([DOMINATED, crosses])
    assert "  Not levelled off: R -39.800, -18.500, 1.180 in epochs 1-3 (levelled off needs R " \
        "and kappa + Q/(-D) in 0.8-1.25 in each)." in lines
    assert not any("balances decay" in line for line in lines)


def test_kappa_must_agree_with_R_to_call_an_sgd_layer_levelled():
    flat_kappa = [dict(rms=0.2, kappa=3.0), dict(rms=0.3, R=1.0, kappa=0.2, ratio=1.67),
                  dict(rms=0.3, R=1.0, kappa=0.2, ratio=1.8),
                  dict(rms=0.3, R=1.0, kappa=0.2, ratio=2.0)]
    lines = text([DOMINATED, flat_kappa])
    assert any(line.startswith("  Not levelled off: R 1.000, 1.000, 1.000") for line in lines)
    assert not any(line.startswith("  Levelled off") for line in lines)
    lines = text([DOMINATED, flat_kappa], optimizer="adamw")  # kappa does not compare with R
    assert any(line.startswith("  Levelled off: R 1.000, 1.000, 1.000 in epochs 1-3, all in")
               for line in lines)


def test_a_flat_curve_claims_nothing():
    flat = [dict(rms=1.0, kappa=0.0), dict(rms=0.9995, R=-0.5, kappa=0.0, ratio=0.9999),
            dict(rms=0.999, R=-0.4, kappa=0.0, ratio=0.9998),
            dict(rms=0.9985, R=-0.3, kappa=0.0, ratio=0.9997)]
    lines = text([flat, GROWS])
    i = lines.index("Layer 1 (the book's w^2, 4 -> 3): RMS shrank by a factor of 0.999 "
                    "(1.0000 -> 0.9985).")
    assert lines[i + 1].startswith("  The pure-decay curve falls only 0.04% in epoch 1, too "
                                   "little to tell decay from no change within 1%")
    assert not any(line.startswith("  Decay alone") for line in lines)
    assert "cannot be compared with a pure-decay curve" in lines[1]


@pytest.mark.parametrize("settings", [dict(regularizer="none", lmbda=5.0),
                                      dict(regularizer="l2", lmbda=0.0)])
def test_no_decay(settings):
    flat = [dict(rms=1.0, kappa=math.nan), dict(rms=1.1, kappa=math.nan, D=0.0)]
    lines = text([flat, flat], epochs=1, **settings)
    assert lines == [
        "no decay, eta=0.1, batch 10, 1 epoch, seed 0: test accuracy 0.7500 (validation 0.5000).",
        "Layer 1 (the book's w^2, 4 -> 3): RMS grew by a factor of 1.100 (1.0000 -> 1.1000).",
        "  No decay in this run, so there is no level set by lmbda/n: the gradient alone moved "
        "the weights.",
        "  The exercise's 1/sqrt(N) = 0.1000 is 11 times below the measured RMS; without decay "
        "nothing pulls the weights towards it.",
        "Layer 2 (the book's w^3, 3 -> 2): RMS grew by a factor of 1.100 (1.0000 -> 1.1000).",
        "  No decay in this run, so there is no level set by lmbda/n: the gradient alone moved "
        "the weights.",
        "  The exercise's 1/sqrt(N) = 0.1000 is 11 times below the measured RMS; without decay "
        "nothing pulls the weights towards it.",
    ]


def test_no_decay_is_read_from_the_balance_monitor_when_recorded():
    flat = [dict(rms=1.0, kappa=math.nan), dict(rms=1.1, kappa=math.nan)]
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
        LayerPrediction(1, 1.0, 0.5, 2.4, 0.02, 0.0, 1.0, 1.0, True, "", stationary_rms=0.48),
        LayerPrediction(2, 0.2, 0.36, None, 3.0, 3.0, 1.0, 1.0, False,
                        "starts below its plateau (0.2 <= 0.36): the gradient makes it grow; "
                        "decay never dominates", stationary_rms=0.36)], 1.25e-3, 400, 0.95)
    levels = [dict(rms=1.0, kappa=0.0), dict(rms=0.7, R=0.2, kappa=0.2),
              dict(rms=0.52, R=0.6, kappa=0.6, tailoff=2, ratio=1.2),
              dict(rms=0.5, R=1.0, kappa=0.95, tailoff=2, ratio=1.5)]
    s = summarize(history([levels, GROWS]), NET, SETTINGS, 0.75, prediction=pred)
    lines = summary_text(s).splitlines()
    assert ("  Predicted plateau RMS 0.5000: where decay balances the gradient (and, under L2, "
            "SGD's noise) near the stationary point of C0 + penalty, set by lmbda/n = 0.00125 "
            "and the data.") in lines
    assert "  Predicted tail-off epoch 2.4, measured 2." in lines
    # a plateau that is the stationary point itself (coupled Adam, L1, full batch) has no noise
    pred.layers[0].stationary_rms = 0.5
    lines = summary_text(summarize(history([levels, GROWS]), NET, SETTINGS, 0.75,
                                   prediction=pred)).splitlines()
    assert ("  Predicted plateau RMS 0.5000: where decay balances the gradient near the "
            "stationary point of C0 + penalty, set by lmbda/n = 0.00125 and the data.") in lines
    assert not any(line.startswith(("To reach the level", "To predict the level")) for line in lines)  # the prediction gave it
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
        assert text.startswith("L2 lmbda=5") and "R = (G + Q)/(-D)" not in text
        assert "R = (G + Q)/(-D)" in summary_text(summary, explain=True)
        assert all(not math.isnan(L["kappa_initial"]) for L in summary["layers"])
    assert "tailed off at epoch" not in text and "would need" not in text


def test_a_layer_never_decay_dominated_has_no_tailoff_epoch_in_the_numbers_either():
    """summary.json and report.html say what the text says: no tail-off, R >= 0.5 from epoch 1."""
    layers = summarize(history([DOMINATED, GROWS]), NET, SETTINGS, 0.75)["layers"]
    assert layers[0]["decay_alone_epochs"] == 3 and layers[1]["decay_alone_epochs"] == 0
    assert math.isnan(layers[1]["tailoff_epoch"]) and layers[1]["R_half_epoch"] == 1
    assert math.isnan(layers[1]["rms_at_tailoff"])
