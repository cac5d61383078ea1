"""The shared epoch loop: hook order, records, stopping, divergence, for fit and train_many."""

import pytest
from strategies import make_data

import wdecay
from wdecay import monitors as M
from wdecay.loop import TrainingDivergedError
from wdecay.sweep import train_many


class Log(M.Monitor):
    def __init__(self, log, stop_at=None):
        self.log, self.stop_at = log, stop_at

    def on_train_begin(self, state):
        self.log.append(("begin", state.epoch))

    def on_epoch_begin(self, state):
        self.log.append(("epoch_begin", state.epoch))

    def on_epoch_end(self, state):
        self.log.append(("epoch_end", state.epoch))
        if self.stop_at is not None and state.epoch >= self.stop_at:
            state.stop_training = True
        return {"seen": state.epoch}

    def on_train_end(self, state):
        self.log.append(("end", state.epoch))


ORDER = [("begin", 0), ("epoch_end", 0), ("epoch_begin", 1), ("epoch_end", 1),
         ("epoch_begin", 2), ("epoch_end", 2), ("end", 2)]


def test_fit_and_train_many_call_hooks_in_the_same_order():
    X, y = make_data([4, 3], 20, 0)
    log_fit, log_many = [], []
    wdecay.Network([4, 3], seed=0).fit(X, y, epochs=2, batch_size=5, eta=0.1,
                                       monitors=[Log(log_fit)])
    _, hs = train_many(X, y, [dict(eta=0.1)], sizes=[4, 3], epochs=2, batch_size=5,
                       monitors=lambda k: [Log(log_many)])
    assert log_fit == ORDER and log_many == ORDER
    assert hs[0]["seen"].tolist() == [0, 1, 2]


def test_train_many_stops_when_every_network_asked():
    X, y = make_data([4, 3], 20, 0)
    logs = [[], []]
    _, hs = train_many(X, y, [dict(eta=0.1), dict(eta=0.2)], sizes=[4, 3], epochs=5,
                       batch_size=5, monitors=lambda k: [Log(logs[k], stop_at=1 + k)])
    assert [h["epoch"].tolist() for h in hs] == [[0, 1, 2], [0, 1, 2]]


def test_divergence_is_one_error_class():
    X, y = make_data([4, 3], 20, 0)
    assert wdecay.TrainingDivergedError is TrainingDivergedError
    with pytest.raises(TrainingDivergedError, match="epoch 1"):
        wdecay.Network([4, 3], seed=0).fit(X * 1e300, y, epochs=2, batch_size=5, eta=1e300)
