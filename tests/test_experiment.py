"""The experiment: exact resumption from checkpoints, and the summary from Python."""

import math

import numpy as np
import pytest

import wdecay
from wdecay import experiment as E
from wdecay.summary import summary_text
from wdecay import monitors as M
from wdecay._json import dumps
from wdecay.datasets import DataSplits, load_mnist_sample
from wdecay.history import History


@pytest.fixture(scope="module")
def splits():
    (X, y), (Xv, yv), (Xt, yt) = load_mnist_sample()
    return DataSplits((X[:300], y[:300]), (Xv[:100], yv[:100]), (Xt[:100], yt[:100]))


SETTINGS = dict(sizes=[784, 8, 10], epochs=4, batch_size=10, lmbda=5.0, eta=0.1, seed=3)


class InterruptAt(M.Monitor):
    """Raise KeyboardInterrupt in the middle of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, state):
        if state.epoch == self.epoch and state.batch == 7:
            raise KeyboardInterrupt


def run_folder(splits, folder, **kw):
    return E.run(splits, SETTINGS, table=False, progress=False,
                 history_path=str(folder / "history.csv"), checkpoint_dir=str(folder), **kw)


class RunningTotal(M.Monitor):
    """A user's monitor with state: the running sum of eval/accuracy, kept across a resume."""

    def on_train_begin(self, state):
        if len(state.history) == 0 or not hasattr(self, "total"):
            self.total = 0.0

    def on_epoch_end(self, state):
        self.total += state.record["eval/accuracy"]
        return {"accuracy_total": self.total}

    def state_dict(self):
        return {"total": self.total}

    def load_state_dict(self, state):
        self.total = float(state["total"])


RESUMED = [{"regularizer": "l2"}, {"regularizer": "l1"},
           {"optimizer": "momentum", "eta": 0.02}, {"optimizer": "nesterov", "eta": 0.02},
           {"optimizer": "adam", "eta": 0.001}, {"optimizer": "adamw", "eta": 0.001}]


@pytest.mark.parametrize("extra", RESUMED, ids=lambda e: "-".join(map(str, e.values())))
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(splits, tmp_path, extra):
    settings = {**SETTINGS, **extra}
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    whole.mkdir(), broken.mkdir()
    net, history, summary = E.run(splits, settings, table=False, progress=False,
                                  history_path=str(whole / "history.csv"),
                                  checkpoint_dir=str(whole), monitors=[RunningTotal()])
    with pytest.raises(KeyboardInterrupt):
        E.run(splits, settings, table=False, progress=False,
              history_path=str(broken / "history.csv"), checkpoint_dir=str(broken),
              monitors=[RunningTotal(), InterruptAt(3)])
    assert [k for _, k in E.checkpoints(broken)] == [2]
    assert list(History.from_csv(broken / "history.csv")["epoch"]) == [0, 1, 2]
    net2, history2, summary2 = E.run(splits, settings, table=False, progress=False,
                                     history_path=str(broken / "history.csv"),
                                     checkpoint_dir=str(broken), resume=True,
                                     monitors=[RunningTotal()])
    assert history2 == history
    assert History.from_csv(broken / "history.csv") == history
    for a, b in zip(net.parameters(), net2.parameters()):
        np.testing.assert_array_equal(a, b)
    assert dumps(summary2) == dumps(summary)  # NaN-aware
    assert [k for _, k in E.checkpoints(broken)] == [4]


def test_a_resume_without_the_optimizers_state_would_differ(splits, tmp_path):
    """The stored moments matter: Adam restarted from zero moments ends elsewhere."""
    settings = {**SETTINGS, "optimizer": "adam", "eta": 0.001}
    whole = tmp_path / "whole"
    whole.mkdir()
    net, _, _ = E.run(splits, settings, table=False, progress=False,
                      history_path=str(whole / "history.csv"), checkpoint_dir=str(whole))
    part = tmp_path / "part"
    part.mkdir()
    E.run(splits, {**settings, "epochs": 2}, table=False, progress=False,
          history_path=str(part / "history.csv"), checkpoint_dir=str(part))
    path, _ = E.checkpoints(part)[-1]
    first, stored, state = wdecay.serialization.load_checkpoint(path)
    assert state["optimizer"]["t"] == 2 * 30  # 300 rows, batch 10, two epochs
    rng = np.random.default_rng(settings["seed"])
    for _ in range(2):
        rng.permutation(300)
    (X, y), ev, _ = splits
    first.fit(X, y, epochs=2, batch_size=10, eta=0.001, regularizer=wdecay.L2(5.0), seed=rng,
              optimizer="adam")
    assert not np.array_equal(first.weights[0], net.weights[0])


def test_resume_refuses_a_checkpoint_without_a_training_state(splits, tmp_path):
    run_folder(splits, tmp_path)
    path, _ = E.checkpoints(tmp_path)[-1]
    net, stored, _ = wdecay.serialization.load_checkpoint(path)
    wdecay.serialization.save(net, path, settings=stored)  # as an older wdecay wrote it
    with pytest.raises(ValueError, match="stores no training state"):
        run_folder(splits, tmp_path, resume=True)


def test_resume_refuses_a_monitor_state_the_run_has_no_monitor_for(splits, tmp_path):
    run_folder(splits, tmp_path, monitors=[RunningTotal()])
    with pytest.raises(ValueError, match="state of a RunningTotal monitor, which this run does "
                                         "not have"):
        run_folder(splits, tmp_path, resume=True)


def test_resume_refuses_a_history_of_another_run(splits, tmp_path):
    run_folder(splits, tmp_path)
    other = History(path=tmp_path / "other.csv")
    for r in History.from_csv(tmp_path / "history.csv"):
        other.append({**r, "layer1/rms": r["layer1/rms"] * 1.5})
    (tmp_path / "other.csv").replace(tmp_path / "history.csv")
    before = (tmp_path / "history.csv").read_bytes()
    for _, k in E.checkpoints(tmp_path):  # a checkpoint of epoch 2: later rows would be cut
        (tmp_path / f"checkpoint-epoch{k}.npz").rename(tmp_path / "checkpoint-epoch2.npz")
    with pytest.raises(ValueError, match="not from the same run"):
        run_folder(splits, tmp_path, resume=True)
    assert (tmp_path / "history.csv").read_bytes() == before  # refused before any row is cut


def test_summarize_run_names_a_custom_regularizer(splits):
    class Ridge2(wdecay.regularizers.Regularizer):  # a new penalty, no registry name
        def penalty(self, weights, n):
            return 0.5 * self.lmbda / n * sum(float(np.vdot(w, w)) for w in weights)

        def gradient(self, w, n):
            return self.lmbda / n * w

        def factor(self, eta, n):
            return 1.0 - eta * self.lmbda / n

    (X, y), ev, _ = splits
    net = wdecay.Network([784, 8, 10], seed=0)
    h = net.fit(X, y, epochs=2, batch_size=10, eta=0.1, regularizer=Ridge2(5.0),
                evaluation_data=ev, monitors=M.diagnostics(), seed=0)
    summary = E.summarize_run(h, net, regularizer=Ridge2(5.0), eta=0.1, batch_size=10,
                              n_train=len(X))
    assert summary["settings"]["regularizer"] == "Ridge2"
    assert "Ridge2" in summary_text(summary) or "RIDGE2" in summary_text(summary)


def test_resume_drops_rows_after_the_checkpoint(splits, tmp_path):
    """Killed after epoch 3's history row, before its checkpoint: resume from epoch 2."""
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    whole.mkdir(), broken.mkdir()
    _, history, _ = run_folder(splits, whole)
    with pytest.raises(KeyboardInterrupt):
        run_folder(splits, broken, monitors=[InterruptAt(3)])
    extra = History(path=broken / "history.csv", mode="append")
    extra.append({**history[3], "layer1/rms": 123.0})  # a row the checkpoint lacks
    _, history2, _ = run_folder(splits, broken, resume=True)
    assert history2 == history


def test_summarize_run_on_a_plain_fit_history_names_what_is_missing():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 2, 30)
    net = wdecay.Network([4, 3, 2], seed=0)
    plain = net.fit(X, y, epochs=1, batch_size=10, eta=0.5, regularizer=wdecay.L2(1.0), seed=0)
    with pytest.raises(ValueError, match="monitors=wdecay.monitors.diagnostics"):
        E.summarize_run(plain, net, regularizer=wdecay.L2(1.0), eta=0.5, batch_size=10, n_train=30)
    h = net.fit(X, y, epochs=2, batch_size=10, eta=0.5, regularizer=wdecay.L2(1.0),
                monitors=M.diagnostics(), seed=0)
    summary = E.summarize_run(h, net, regularizer=wdecay.L2(1.0), eta=0.5, batch_size=10,
                              n_train=30)
    assert summary["settings"]["regularizer"] == "l2" and math.isnan(summary["test_accuracy"])
    assert "L2 lmbda=1" in summary_text(summary)


def test_check_settings_names_the_bad_setting():
    with pytest.raises(ValueError, match="`eta` must be > 0"):
        E.check_settings({"eta": 0.0})
    with pytest.raises(ValueError, match="unknown settings"):
        E.check_settings({"etaa": 0.1})


@pytest.mark.slow
def test_run_with_predict_states_the_predicted_plateau(splits):
    """--predict: the stationary point's plateau and the tail-off epoch beside the run's."""
    _, _, summary = E.run(splits, {**SETTINGS, "epochs": 2}, table=False, progress=False,
                          predict=True)
    first = summary["layers"][0]
    assert first["predicted_plateau"] > 0
    assert first["predicted_tailoff_epoch"] is not None or first["prediction_reason"]
    text = summary_text(summary)
    assert f"Predicted plateau RMS {first['predicted_plateau']:.4f}" in text


def test_summarize_run_speaks_of_the_optimizer_used(splits):
    """From Python as from the command line: coupled Adam has no pure-decay curve."""
    (X, y), ev, _ = splits
    net = wdecay.Network([784, 8, 10], initializer="large", seed=0)
    h = net.fit(X, y, epochs=2, batch_size=10, eta=0.001, regularizer=wdecay.L2(5.0),
                evaluation_data=ev, monitors=M.diagnostics(), seed=0, optimizer="adam")
    summary = E.summarize_run(h, net, regularizer=wdecay.L2(5.0), eta=0.001, batch_size=10,
                              n_train=len(X), optimizer="adam")
    assert summary["settings"]["optimizer"] == "adam"
    text = summary_text(summary)
    assert "Optimizer adam" in text and "no pure-decay curve" in text
    plain = E.summarize_run(h, net, regularizer=wdecay.L2(5.0), eta=0.001, batch_size=10,
                            n_train=len(X))
    assert plain["settings"]["optimizer"] == "sgd"


@pytest.mark.parametrize("optimizer,eta,predicts", [("momentum", 0.01, True),
                                                    ("adamw", 0.001, False)])
def test_the_suggested_command_is_one_that_gives_the_level(splits, optimizer, eta, predicts):
    """--predict is suggested only for optimizers predict_tailoff gives a plateau for."""
    settings = {**SETTINGS, "optimizer": optimizer, "eta": eta, "epochs": 1}
    _, _, summary = E.run(splits, settings, table=False, progress=False)
    last = summary_text(summary).splitlines()[-1]
    assert last.startswith(("To reach the level: wdecay experiment", "To predict the level: wdecay experiment"))
    assert ("--predict" in last) is predicts
    if not predicts:  # 1/(eta lmbda/n) = 300 / (0.001 * 5) steps = 2,000 epochs of 30 steps
        assert "--epochs 6000" in last
        assert "by a factor e in 1/(eta lmbda/n) = 60,000 steps (2,000 epochs)" in \
            summary_text(summary)
