"""The summary's sentences against the history of the run that produced them (issue 21).

Every test trains for real (a few epochs, on the embedded sample or a part of it)
and reads the decisive sentences back against the history: a claim of decay
alone against R and the pure-decay curve in the same epochs, "levelled off"
against R over the last epochs, and no initial value given as a cause.
"""

import math
import re

import numpy as np
import pytest

from wdecay import cli
from wdecay import experiment as E
from wdecay import summary as S
from wdecay.datasets import load_mnist_sample
from wdecay.summary import summary_text


@pytest.fixture(scope="module")
def sample():
    return load_mnist_sample()


@pytest.fixture(scope="module")
def small(sample):
    (X, y), (Xv, yv), test = sample
    return (X[:1000], y[:1000]), (Xv[:200], yv[:200]), test


@pytest.fixture(scope="module")
def one_epoch(sample):
    """The default run for one epoch on the sample, shared by the tests that read it."""
    return run(sample, epochs=1)


def run(splits, **settings):
    _, history, summary = E.run(splits, settings, table=False, progress=False)
    return history, summary, summary_text(summary)


def series(history, l, key):
    return np.asarray(history[f"layer{l}/{key}"], dtype=float)


def blocks(text, layers):
    """The details of each layer: the lines from "Layer l (" to the next layer's."""
    lines = text.splitlines()
    starts = [next(i for i, line in enumerate(lines) if line.startswith(f"Layer {l} ("))
              for l in range(1, layers + 1)]
    ends = starts[1:] + [len(lines)]
    return {l: lines[a:b] for l, (a, b) in enumerate(zip(starts, ends), 1)}


def short_answer(text):
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("In short: "))
    out = [lines[i]]
    for line in lines[i + 1:]:
        if not line.startswith("  ") or line.startswith("  Optimizer"):
            break
        out.append(line)
    return out


def claimed_decay_alone_epochs(line):
    """How many first epochs a "Decay alone ..." sentence claims (None if it claims none)."""
    if not line.startswith("  Decay alone"):
        return None
    if "in its only epoch" in line or "for the first epoch" in line:
        return 1
    m = re.match(r"  Decay alone (?:for the first|in all) (\d+) epochs", line)
    assert m, line
    return int(m.group(1))


def check_truth(history, summary, text):
    """The three rules of issue 21, read from the text and checked against the history."""
    layers = len(summary["layers"])
    E_run = summary["epochs_run"]
    assert "for all 1 epoch" not in text and " 1 epochs" not in text
    assert "At the start" not in text and "because it started" not in text
    assert "decay set its norm" not in text
    for l, lines in blocks(text, layers).items():
        R = series(history, l, "R")
        ratio = series(history, l, "rms_ratio")
        for line in lines:
            k = claimed_decay_alone_epochs(line)
            if k is not None:  # decay alone: R near 0 and on the curve in those epochs
                assert 1 <= k <= E_run
                assert np.all(R[1:k + 1] >= S.DECAY_BAND[0]), (line, R[1:k + 1])
                assert np.all(R[1:k + 1] <= S.DECAY_BAND[1]), (line, R[1:k + 1])
                assert np.all(np.abs(ratio[1:k + 1] - 1) <= S.CURVE_TOLERANCE), line
            if line.startswith("  Levelled off") or "balances decay" in line:
                assert line.startswith("  Levelled off"), line
                last = R[-S.LEVEL_EPOCHS:]
                assert E_run >= S.LEVEL_EPOCHS
                assert np.all((last >= S.LEVEL_BAND[0]) & (last <= S.LEVEL_BAND[1])), last
                assert np.ptp(last) <= S.LEVEL_BAND[1] - S.LEVEL_BAND[0]
            if "gives back" in line:  # the gradient gives back only with R >= 0
                assert R[-1] >= 0, line
            if "gave back" in line:
                GQ = series(history, l, "budget_G")[1:] + series(history, l, "budget_Q")[1:]
                assert GQ.sum() >= 0, line
        k0 = series(history, l, "kappa")[0]
        if not math.isnan(k0) and f"{k0:.3f}" != f"{series(history, l, 'kappa')[-1]:.3f}":
            assert f"kappa = {k0:.3f}" not in "\n".join(lines)  # no initial kappa as a cause
    first = short_answer(text)[0]
    if "followed decay alone" in first:
        m = re.search(r"followed decay alone (?:for (\d+) epochs?|for all (\d+) epochs|"
                      r"in its only epoch)", first)
        k = int(m.group(1) or m.group(2) or 1)
        R1 = series(history, 1, "R")[1:k + 1]
        assert np.all((R1 >= S.DECAY_BAND[0]) & (R1 <= S.DECAY_BAND[1]))
    if "levelled off at RMS" in first:
        last = series(history, 1, "R")[-S.LEVEL_EPOCHS:]
        assert np.all((last >= S.LEVEL_BAND[0]) & (last <= S.LEVEL_BAND[1]))


# -- S1-S6: the runs -------------------------------------------------------------

def test_s1_momentum_follows_its_own_pure_decay_curve(sample):
    """S1: coupled momentum's curve falls 1/(1 - mu) times as fast as SGD's, and layer 1
    follows it in epoch 1 with R near 0."""
    history, summary, text = run(sample, optimizer="momentum", epochs=3)
    check_truth(history, summary, text)
    pred = series(history, 1, "predicted_rms")
    eta, c, mu, steps = 0.1, 5.0 / 4000, 0.9, 400
    # steady state: the larger root r of r^2 - (1 + mu - eta c) r + mu = 0 per step (heavy
    # ball on c w alone), about 1 - eta c / (1 - mu): 1/(1 - mu) times SGD's rate
    x = eta * c
    r = ((1 + mu - x) + math.sqrt((1 + mu - x) ** 2 - 4 * mu)) / 2
    assert pred[3] / pred[2] == pytest.approx(r ** steps, rel=1e-4)
    assert pred[3] / pred[2] == pytest.approx(math.exp(-x / (1 - mu) * steps), rel=1e-2)
    R = series(history, 1, "R")
    assert abs(series(history, 1, "rms_ratio")[1] - 1) < S.CURVE_TOLERANCE and R[1] < 0.05
    layer1 = blocks(text, 2)[1]
    assert layer1[1].startswith("  Decay alone for the first epoch")
    assert f"R = {R[1]:.3f}" in layer1[1] and "left the pure-decay curve in epoch 2" in layer1[1]
    assert "Never on the pure-decay curve" not in text
    assert not any("no tail-off" in line for line in layer1)


def test_s1_momentum_over_more_epochs_tails_off(sample):
    history, summary, text = run(sample, optimizer="momentum", epochs=6)
    check_truth(history, summary, text)
    half = int(history.last("layer1/tailoff_epoch"))
    assert series(history, 1, "R")[half] >= 0.5 > series(history, 1, "R")[half - 1]
    assert f"Tail-off: R reached 0.5 in epoch {half}," in "\n".join(blocks(text, 2)[1])


def test_s2_adamw_small_eta_says_nothing_about_a_flat_curve(sample):
    """S2: the curve moves 0.05% per epoch, so no "decay alone"; layer 2 crossed R = 1 once,
    which is not levelled off; the shrink is the gradient's."""
    history, summary, text = run(sample, optimizer="adamw", eta=0.001, epochs=3)
    check_truth(history, summary, text)
    pred = series(history, 1, "predicted_rms")
    assert 1 - pred[1] / pred[0] < S.CURVE_MIN_FALL
    one, two = blocks(text, 2).values()
    assert "too little to tell decay from no change" in one[1]
    assert not any(line.startswith("  Decay alone") for line in one + two)
    R2 = series(history, 2, "R")
    assert R2[1] < -1 and R2[-1] > 1
    assert not any("Levelled off" in line or "balances decay" in line for line in two)
    assert any(line.startswith("  Not levelled off") for line in two)
    why = next(line for line in two if line.startswith("  Why it shrank"))
    assert "the gradient removed" in why
    assert "R < -0.1 (the gradient shrank it too) in epochs 1-2" in why


def test_s3_deep_output_layer_is_not_decay_alone(sample):
    history, summary, text = run(sample, sizes=[784, 30, 30, 10], epochs=5)
    check_truth(history, summary, text)
    R3 = series(history, 3, "R")
    assert R3[1] < S.NEGLIGIBLE_R
    three = blocks(text, 3)[3]
    assert three[1] == (f"  Not decay alone even in epoch 1: R = {R3[1]:.3f}, the RMS "
                        f"{100 * (series(history, 3, 'rms_ratio')[1] - 1):+.2f}% off the "
                        "pure-decay curve (decay alone needs R in [-0.1, 0.2] and the RMS "
                        "within 1%).")
    assert any(line.startswith("  Why it shrank") and "R > 1 (the gradient grew it against "
               "decay) in epochs 2-5" in line for line in three)


def test_s4_default_init_gives_no_initial_kappa_as_a_cause(sample):
    history, summary, text = run(sample, init="default", epochs=5)
    check_truth(history, summary, text)
    for l in (1, 2):
        R = series(history, l, "R")
        assert np.all(R[1:] > 1)  # the gradient grew both layers in every epoch
        why = next(line for line in blocks(text, 2)[l] if line.startswith("  Why it grew"))
        assert "the gradient added" in why and "R > 1 (the gradient grew it against decay) " \
            "in epochs 1-5" in why
        assert f"{series(history, l, 'kappa')[0]:.3f}" not in text


def test_s5_one_epoch_has_no_balance_and_good_grammar(one_epoch):
    history, summary, text = one_epoch
    check_truth(history, summary, text)
    assert "balance" not in text and "for all 1 epoch" not in text
    assert "Decay alone in its only epoch" in text
    assert text.count("Too few epochs (1) to tell whether it levelled off") == 2


def test_s6_quadratic_negative_R_gives_nothing_back(sample):
    history, summary, text = run(sample, cost="quadratic", epochs=5)
    check_truth(history, summary, text)
    R2 = series(history, 2, "R")
    assert R2[-1] < 0
    two = blocks(text, 2)[2]
    assert not any("gives back" in line or "gave back" in line for line in two)
    assert any("the gradient gives nothing back" in line for line in two)
    assert two[1].startswith("  Not decay alone even in epoch 1")


# -- every optimizer, depth, initializer and cost -------------------------------------------

@pytest.mark.parametrize("cost", ["cross-entropy", "quadratic"])
@pytest.mark.parametrize("init", ["large", "default"])
@pytest.mark.parametrize("sizes", [[784, 10, 10], [784, 10, 10, 10]])
@pytest.mark.parametrize("optimizer", list(E.OPTIMIZER_SETTINGS))
def test_summary_is_true_for_every_configuration(small, optimizer, sizes, init, cost):
    eta = 0.001 if optimizer.startswith("adam") else 0.1
    history, summary, text = run(small, optimizer=optimizer, sizes=sizes, init=init, cost=cost,
                                 eta=eta, epochs=4)
    check_truth(history, summary, text)
    if optimizer == "adam":  # coupled Adam has no pure-decay curve, and says so
        assert np.all(np.isnan(series(history, 1, "predicted_rms")))
        assert "has no pure-decay curve" in text and "Decay alone" not in text


# -- the short answer (issue 22, item 5) ----------------------------------------------------

def test_short_answer_first_then_details_and_definitions_only_with_explain(capsys):
    assert cli.main(["experiment", "--epochs", "3", "--no-plot", "--quiet"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    short = short_answer(text)
    assert lines[1] == short[0] and 3 <= len(short) <= 5
    assert "layer 1 (the book's w^2, 784 -> 30)" in short[0]
    assert "1/sqrt(N) = 0.0065" in short[1]
    assert "The output layer, layer 2 (the book's w^3, 30 -> 10)" in short[2]
    assert lines[-1] == "To reach the level: wdecay experiment --epochs 80"
    assert "R = (G + Q)/(-D)" not in text and "only" not in text.split("Signed sums")[-1][:60]
    assert cli.main(["experiment", "--epochs", "1", "--no-plot", "--quiet", "--explain"]) == 0
    explained = capsys.readouterr().out
    assert explained.count("R = (G + Q)/(-D)") == 1 and "Tail-off: the first epoch" in explained


def test_definitions_are_available_for_the_report(one_epoch):
    _, summary, _ = one_epoch
    text = S.definitions(summary)
    assert "N = 23820 is the number of weights, n = 4000 the training rows." in text
    assert "left the pure-decay curve" in text and "Levelled off" in text


@pytest.mark.slow
def test_default_run_levels_off_by_the_suggested_epochs(sample):
    """The command the default run ends with gets the level: every layer levelled off."""
    history, summary, text = run(sample, epochs=S.DEFAULT_LEVEL_EPOCHS)
    check_truth(history, summary, text)
    assert all(L["levelled"] for L in summary["layers"])
    assert "levelled off at RMS" in short_answer(text)[0] and "the level:" not in text.splitlines()[-1]
    assert "Tail-off: R reached 0.5 in epoch" in text


def test_one_epoch_short_answer_does_not_judge_the_level():
    """The short answer and the details agree after one epoch: too few to tell a level."""
    from wdecay.cli import main
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["experiment", "--sizes", "784", "5", "10", "--epochs", "1", "--quiet",
                     "--no-plot"]) == 0
    text = out.getvalue()
    short = next(line for line in text.splitlines() if line.startswith("In short:"))
    assert "has not levelled off" not in short
    assert "whether it levelled off needs 3 epochs to tell" in short
    assert "Too few epochs (1) to tell whether it levelled off" in text
