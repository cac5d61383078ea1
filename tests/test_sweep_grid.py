"""Sweep grids: every point validated before training, bad values named, good points never lost."""

import numpy as np
import pytest

from wdecay.sweep import grid as G
from wdecay.sweep import expand, run

BASE = {"data": "random:120:6:3:0", "sizes": [6, 5, 3], "epochs": 2, "batch_size": 10}


@pytest.mark.parametrize("key, value, message", [
    ("lmbda", -1.0, "lmbda=-1.0: `lmbda` must be >= 0, got -1.0"),
    ("eta", 0.0, "eta=0.0: `eta` must be > 0, got 0.0"),
    ("regularizer", "l3", "regularizer='l3'"),
    ("initializer", "huge", "initializer='huge'"),
    ("cost", "hinge", "cost='hinge'"),
    ("activation", "swish", "activation='swish'"),
    ("epochs", -1, "epochs=-1: `epochs` must be >= 0, got -1"),  # as fit's (wdecay.config)
    ("batch_size", 2.5, "batch_size=2.5: `batch_size` must be an integer"),
    ("sizes", [7, 5, 3], "sizes=(7, 5, 3): the data have 6 inputs"),
    ("sizes", [6, 5, 2], "sizes=(6, 5, 2): the data have 3 classes"),
    ("data", "random:x:6:3:0", "data='random:x:6:3:0': random data must be"),
    ("monitors", ["weight_norms", "nope"], "monitors=('weight_norms', 'nope'): unknown monitors"),
    ("init_seed", -2, "init_seed=-2: `init_seed` must be >= 0"),
])
def test_validate_names_the_bad_value(key, value, message):
    configs = expand({**BASE, "lmbda": [0.0, 1.0]}) + expand({**BASE, key: value})
    bad = G.validate(configs)
    assert list(bad) == [2]
    assert message in bad[2] and bad[2].startswith("ValueError: ")


def test_bad_points_are_marked_and_every_good_point_trains_as_it_would_alone():
    good = expand({**BASE, "lmbda": [0.0, 1.0, 5.0]})
    mixed = good[:1] + expand({**BASE, "lmbda": -3.0}) + good[1:] + expand({**BASE, "eta": -1.0})
    result = run(mixed)
    assert [r["error"] is None for r in result.runs] == [True, False, True, True, False]
    assert "lmbda=-3.0" in result.runs[1]["error"] and "eta=-1.0" in result.runs[4]["error"]
    alone = run(good)
    for r, a in zip([result.runs[i] for i in (0, 2, 3)], alone.runs):
        assert r["config"] == a["config"] and r["history"] == a["history"] and r["history"]


def test_on_invalid_raise_trains_nothing(monkeypatch):
    def never(batch):
        raise AssertionError("training started")

    monkeypatch.setattr(G, "run_batch", never)
    with pytest.raises(ValueError, match=r"1 of 3 grid points are invalid; nothing was trained:\n"
                                         r"  point 2: ValueError: lmbda=-1.0"):
        run({**BASE, "lmbda": [0.0, 1.0, -1.0]}, on_invalid="raise")
    with pytest.raises(ValueError, match="`on_invalid` must be"):
        run(BASE, on_invalid="ignore")


def test_a_batch_failing_at_run_time_is_retried_one_by_one(monkeypatch):
    """An error validation cannot foresee (here: lmbda 7 fails inside training) costs only its run."""
    from wdecay.sweep import lockstep

    real = lockstep.train_many

    def fragile(X, y, configs, **kw):
        if any(c["lmbda"] == 7.0 for c in configs):
            raise FloatingPointError("lmbda 7 breaks")
        return real(X, y, configs, **kw)

    monkeypatch.setattr(lockstep, "train_many", fragile)
    result = run({**BASE, "lmbda": [0.0, 7.0, 1.0]})
    assert [r["error"] for r in result.runs][1] == "FloatingPointError: lmbda 7 breaks"
    assert result.runs[0]["error"] is None and result.runs[2]["error"] is None
    assert len(result.failed) == 1


def test_table_prints_aligned_and_keeps_the_records():
    result = run(expand({**BASE, "lmbda": [0.0, 12.5]}) + expand({**BASE, "lmbda": -1.0}))
    table = result.table()
    assert isinstance(table.records, list) and len(table) == 3
    assert table[1]["lmbda"] == 12.5 and np.isnan(table[2]["eval/accuracy"])
    text = str(table)
    assert repr(table) == text
    lines = text.splitlines()
    assert lines[0].startswith("same for all runs: data=random:120:6:3:0, sizes=6-5-3, epochs=2")
    header, rule, *rows = lines[1:]
    assert header.split() == ["lmbda", "eval/accuracy", "layer1/rms", "error"]
    assert set(rule.replace(" ", "")) == {"-"} and len(rows) == 3
    # columns line up: each header name ends where the rule's dashes end
    ends = [i for i in range(len(rule)) if rule[i] == "-" and (i + 1 == len(rule) or rule[i + 1] == " ")]
    for row in rows[:2]:
        assert all(row[e] != " " for e in ends[:3])  # right-aligned numbers end on the column edge
    assert rows[2].split()[:3] == ["-1", "nan", "nan"] and "lmbda=-1.0" in rows[2]
    assert str(type(result).table.__doc__).count("aligned") >= 1


def test_the_grid_fit_and_train_many_share_one_table_of_constraints():
    """epochs >= 0 and init_seed's default are declared once (wdecay.config), not per caller."""
    import numpy as np

    import wdecay
    from wdecay import config
    from wdecay.sweep import train_many

    assert G.NETWORK_DEFAULTS is config.NETWORK_DEFAULTS
    assert G.validate(expand({**BASE, "epochs": 0})) == {}
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 6)), rng.integers(0, 3, 20)
    wdecay.Network([6, 3], seed=0).fit(X, y, epochs=0, batch_size=5, eta=0.1)
    nets, _ = train_many(X, y, [{"eta": 0.1}], sizes=[6, 3], epochs=0, batch_size=5)
    np.testing.assert_array_equal(nets[0].weights[0], wdecay.Network([6, 3], seed=0).weights[0])
