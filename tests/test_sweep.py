"""Lockstep training equals one-by-one training; sweeps give the same table on any executor."""

import concurrent.futures

import numpy as np
import pytest
from extensions import ElasticNet

import wdecay
from wdecay import monitors as M
from wdecay.regularizers import get_regularizer
from wdecay.sweep import expand, run, train_many

CONFIGS = [dict(eta=0.1, lmbda=5.0, regularizer="l2", initializer="large", init_seed=1),
           dict(eta=0.3, lmbda=2.0, regularizer="l1", initializer="default", init_seed=2),
           dict(eta=0.2, lmbda=0.0, regularizer="none", initializer="large", init_seed=3),
           dict(eta=0.05, lmbda=50.0, regularizer="l2", initializer="default", init_seed=4)]


def data(n=203, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, k, n)


def alone(c, X, y, sizes, cost, activation, **kw):
    net = wdecay.Network(sizes, cost=cost, activation=activation, initializer=c["initializer"],
                         seed=c["init_seed"])
    h = net.fit(X, y, eta=c["eta"], regularizer=get_regularizer(c["regularizer"], c["lmbda"]), **kw)
    return net, h


@pytest.mark.parametrize("cost", ["cross-entropy", "quadratic", "log-likelihood"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("sizes", [[6, 3], [6, 5, 3], [6, 5, 4, 3]])
def test_each_network_equals_training_it_alone(cost, activation, sizes):
    X, y = data()
    nets, _ = train_many(X, y, CONFIGS, sizes=sizes, epochs=3, batch_size=7, seed=9, cost=cost,
                         activation=activation)
    for c, net in zip(CONFIGS, nets):
        ref, _ = alone(c, X, y, sizes, cost, activation, epochs=3, batch_size=7, seed=9)
        for a, b in zip(net.parameters(), ref.parameters()):
            assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))


def test_monitors_work_per_network():
    X, y = data()
    _, histories = train_many(X, y, CONFIGS, sizes=[6, 5, 3], epochs=2, batch_size=10, seed=1,
                              evaluation_data=(X[:50], y[:50]),
                              monitors=lambda k: [M.WeightNorms(), M.DecayPrediction()])
    for c, h in zip(CONFIGS, histories):
        _, ref = alone(c, X, y, [6, 5, 3], "cross-entropy", "sigmoid", epochs=2, batch_size=10,
                       seed=1, evaluation_data=(X[:50], y[:50]),
                       monitors=[M.WeightNorms(), M.DecayPrediction()])
        assert h.keys() == ref.keys()
        for key in ("layer1/rms", "total/penalty", "eval/accuracy", "layer1/predicted_rms"):
            np.testing.assert_allclose(h[key], ref[key], rtol=1e-10)


def test_per_batch_monitors_are_refused():
    X, y = data()
    with pytest.raises(ValueError, match="per-batch monitors"):
        train_many(X, y, CONFIGS[:1], sizes=[6, 3], epochs=1, batch_size=5,
                   monitors=lambda k: [M.NormBudget()])


def test_divergence_raises_or_marks():
    X, y = data()
    X = X * 1e3
    bad = [dict(eta=1e308, initializer="large", init_seed=0), dict(eta=0.01, init_seed=1)]
    kw = dict(sizes=[6, 8, 3], epochs=30, batch_size=5, cost="log-likelihood", activation="relu")
    with pytest.raises(FloatingPointError, match="network 0 diverged"):
        with np.errstate(all="ignore"):
            train_many(X, y, bad, **kw)
    nets, hs = train_many(X, y, bad, on_divergence="mark", **kw)
    assert hs[0].last("diverged_epoch", None) is not None
    assert "diverged_epoch" not in hs[1] and len(hs[1]) == 31
    assert all(np.isfinite(p).all() for p in nets[1].parameters())


def test_bad_configs_name_the_problem():
    X, y = data()
    with pytest.raises(ValueError, match=r"configs\[0\]\['eta'\]"):
        train_many(X, y, [dict(eta=-1.0)], sizes=[6, 3], epochs=1, batch_size=5)
    with pytest.raises(ValueError, match="unknown keys"):
        train_many(X, y, [dict(etaa=1.0)], sizes=[6, 3], epochs=1, batch_size=5)
    with pytest.raises(ValueError, match="empty"):
        train_many(X, y, [], sizes=[6, 3], epochs=1, batch_size=5)


GRID = {"data": "random:300:8:3:0", "sizes": [8, 6, 3], "epochs": 2, "batch_size": 10,
        "lmbda": [0.0, 1.0, 5.0], "eta": [0.1, 0.5]}


def test_grid_expands_and_groups():
    configs = expand(GRID)
    assert len(configs) == 6 and configs[0]["lmbda"] == 0.0 and configs[1]["eta"] == 0.5
    result = run(GRID, max_batch=4)
    assert [r["index"] for r in result.runs] == list(range(6)) and not result.failed
    rows = result.table()
    assert len(rows) == 6 and all(0 <= r["eval/accuracy"] <= 1 for r in rows)


def test_a_failed_batch_is_marked_and_the_others_kept():
    configs = expand(GRID) + expand({**GRID, "data": "random:not-a-number", "lmbda": 1.0, "eta": 0.1})
    result = run(configs)
    assert len(result.failed) == 1 and result.failed[0]["config"]["data"] == "random:not-a-number"
    assert "ValueError" in result.failed[0]["error"]
    assert sum(r["error"] is None for r in result.runs) == 6


def same(a, b):
    assert [r["index"] for r in a.runs] == [r["index"] for r in b.runs]
    for ra, rb in zip(a.runs, b.runs):
        assert ra["error"] == rb["error"] and ra["history"] == rb["history"]


def test_process_pool_gives_identical_results():
    local = run(GRID, max_batch=4)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        same(local, run(GRID, executor=pool, max_batch=4))


@pytest.mark.slow
def test_dask_cluster_gives_identical_results():
    distributed = pytest.importorskip("distributed")
    local = run(GRID, max_batch=4)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, processes=True)
    try:
        with distributed.Client(cluster) as client:
            dask_result = run(GRID, executor=client.get_executor(), max_batch=4)
    finally:
        cluster.close()
    same(local, dask_result)  # the process pool: test_process_pool_gives_identical_results


def test_own_orders_equal_training_alone():
    X, y = data()
    configs = [dict(c, order_seed=10 + i) for i, c in enumerate(CONFIGS)]
    for sizes in ([6, 3], [6, 5, 3], [6, 5, 4, 3]):
        nets, _ = train_many(X, y, configs, sizes=sizes, epochs=3, batch_size=7)
        for c, net in zip(configs, nets):
            ref, _ = alone(c, X, y, sizes, "cross-entropy", "sigmoid", epochs=3, batch_size=7,
                           seed=c["order_seed"])
            for a, b in zip(net.parameters(), ref.parameters()):
                assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))
    with pytest.raises(ValueError, match="order_seed"):
        train_many(X, y, [configs[0], CONFIGS[1]], sizes=[6, 3], epochs=1, batch_size=7)


def test_grid_with_own_orders_runs():
    grid = {**GRID, "order_seed": [None, 7]}
    result = run(grid)
    assert len(result.runs) == 12 and not result.failed
    own = [r for r in result.runs if r["config"]["order_seed"] == 7]
    shared = [r for r in result.runs if r["config"]["order_seed"] is None]
    assert own[0]["history"]["layer1/rms"] != shared[0]["history"]["layer1/rms"]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_float32_lockstep_survives_strong_decay(backend):
    """The lazy first-layer scale is folded back before it underflows (float32)."""
    if backend == "numba":
        pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    X, y = rng.random((500, 20)).astype(np.float32), rng.integers(0, 3, 500)
    # factor 1 - 0.5 * 200 / 500 = 0.8 per step: 0.8^500 = 1e-49 underflows float32
    nets, hs = train_many(X, y, [{"eta": 0.5, "lmbda": 200.0, "regularizer": "l2",
                                  "init_seed": 0}],
                          sizes=[20, 5, 3], epochs=2, batch_size=1, dtype=np.float32,
                          seed=0, on_divergence="mark", backend=backend)
    assert "diverged_epoch" not in hs[0].keys()
    assert all(np.isfinite(p).all() for p in nets[0].parameters())


L2_CONFIGS = [c for c in CONFIGS if c["regularizer"] != "l1"]


@pytest.mark.parametrize("own_orders", [False, True])
@pytest.mark.parametrize("cost", ["cross-entropy", "quadratic", "log-likelihood"])
def test_numba_backend_equals_lockstep_and_training_alone(cost, own_orders):
    pytest.importorskip("numba")
    X, y = data()
    configs = [dict(c, order_seed=10 + i) if own_orders else c for i, c in enumerate(L2_CONFIGS)]
    kw = dict(sizes=[6, 5, 3], epochs=3, batch_size=7, seed=9, cost=cost,
              monitors=lambda k: [M.WeightNorms()])
    compiled, hc = train_many(X, y, configs, backend="numba", **kw)
    lockstep, hl = train_many(X, y, configs, backend="numpy", **kw)
    for c, a_net, b_net, ha, hb in zip(configs, compiled, lockstep, hc, hl):
        ref, _ = alone(c, X, y, [6, 5, 3], cost, "sigmoid", epochs=3, batch_size=7,
                       seed=c["order_seed"] if own_orders else 9, backend="numba")
        for a, b, r in zip(a_net.parameters(), b_net.parameters(), ref.parameters()):
            assert np.array_equal(a, r)  # the same kernel, the same orders
            assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))
        np.testing.assert_allclose(ha["layer1/rms"], hb["layer1/rms"], rtol=1e-10)


def test_numba_backend_refuses_what_it_cannot_run():
    pytest.importorskip("numba")
    X, y = data()
    with pytest.raises(ValueError, match="backend='numba' cannot run this sweep: .*shrinks"):
        train_many(X, y, CONFIGS, sizes=[6, 3], epochs=1, batch_size=7, backend="numba")
    with pytest.raises(ValueError, match="backend='numba' cannot run this sweep: .*sigmoid"):
        train_many(X, y, L2_CONFIGS, sizes=[6, 3], epochs=1, batch_size=7, backend="numba",
                   activation="tanh")
    with pytest.raises(ValueError, match="`backend` must be one of"):
        train_many(X, y, L2_CONFIGS, sizes=[6, 3], epochs=1, batch_size=7, backend="gpu")
    # 'auto' falls back to lockstep for L1, silently, with the same results as 'numpy'
    a, _ = train_many(X, y, CONFIGS, sizes=[6, 3], epochs=1, batch_size=7, seed=0)
    b, _ = train_many(X, y, CONFIGS, sizes=[6, 3], epochs=1, batch_size=7, seed=0,
                      backend="numpy")
    assert all(np.array_equal(p, q) for n1, n2 in zip(a, b)
               for p, q in zip(n1.parameters(), n2.parameters()))


def test_a_shared_compiled_epoch_refuses_a_different_network():
    pytest.importorskip("numba")
    from wdecay.numba_backend import NumbaEpoch

    X, y = data()
    net = wdecay.Network([6, 5, 3], seed=0)
    epoch = NumbaEpoch(net, np.ascontiguousarray(X), np.eye(3)[y], 7)
    with pytest.raises(ValueError, match="`network` must match the prepared one"):
        epoch.run(np.arange(len(X)), 0.1, 1.0, network=wdecay.Network([6, 4, 3], seed=0))


def test_numba_backend_float32_equals_fit_exactly():
    pytest.importorskip("numba")
    X, y = data()
    configs = [dict(eta=0.1, lmbda=5.0, initializer="large", init_seed=i) for i in range(2)]
    nets, _ = train_many(X, y, configs, sizes=[6, 5, 3], epochs=2, batch_size=7, seed=1,
                         dtype=np.float32, backend="numba")
    for c, net in zip(configs, nets):
        ref = wdecay.Network([6, 5, 3], initializer="large", seed=c["init_seed"], dtype=np.float32)
        ref.fit(X, y, epochs=2, batch_size=7, eta=0.1, regularizer=wdecay.L2(5.0), seed=1,
                backend="numba")
        assert all(np.array_equal(a, b) for a, b in zip(net.parameters(), ref.parameters()))


def test_numba_backend_marks_or_raises_on_divergence():
    pytest.importorskip("numba")
    X, y = data()
    X = X * 1e3
    bad = [dict(eta=1e308, initializer="large", init_seed=0), dict(eta=0.01, init_seed=1)]
    kw = dict(sizes=[6, 8, 3], epochs=5, batch_size=5, cost="log-likelihood", backend="numba")
    with pytest.raises(wdecay.TrainingDivergedError, match="network 0 diverged"):
        train_many(X, y, bad, **kw)
    nets, hs = train_many(X, y, bad, on_divergence="mark", **kw)
    assert hs[0].last("diverged_epoch", None) is not None
    assert "diverged_epoch" not in hs[1] and len(hs[1]) == 6
    assert all(np.isfinite(p).all() for p in nets[1].parameters())


@pytest.fixture
def elastic():
    """An elastic net registered by name (l1 without default, l2 with 0.0), for one test."""
    from wdecay.registry import real
    from wdecay.regularizers import REGULARIZERS

    class SweepElastic(ElasticNet):
        name = "sweep-elastic"
        hyperparameters = {"l1": (real(0), None), "l2": (real(0), 0.0)}

    yield SweepElastic
    REGULARIZERS.pop("sweep-elastic")


def test_a_registered_regularizer_trains_in_train_many_by_name(elastic):
    """Its settings are config keys, read from its declaration; the made regularizer trains
    as the instance does, bit for bit."""
    from wdecay.sweep.lockstep import config_keys

    assert {"l1", "l2"} <= set(config_keys())
    X, y = data()
    named = [dict(eta=0.1, regularizer="sweep-elastic", l1=0.5, l2=3.0, init_seed=1),
             dict(eta=0.2, regularizer="sweep-elastic", l1=1.0, init_seed=2),  # l2's default
             dict(eta=0.1, lmbda=4.0, regularizer="l2", init_seed=3)]
    given = [dict(eta=0.1, regularizer=elastic(0.5, 3.0), init_seed=1),
             dict(eta=0.2, regularizer=elastic(1.0, 0.0), init_seed=2),
             dict(eta=0.1, regularizer=wdecay.L2(4.0), init_seed=3)]
    a, ha = train_many(X, y, named, sizes=[6, 5, 3], epochs=2, batch_size=7, seed=0)
    b, hb = train_many(X, y, given, sizes=[6, 5, 3], epochs=2, batch_size=7, seed=0)
    assert all(np.array_equal(p, q) for n1, n2 in zip(a, b)
               for p, q in zip(n1.parameters(), n2.parameters()))
    assert ha == hb


@pytest.mark.parametrize("config, error, message", [
    (dict(regularizer="sweep-elastic"), TypeError, "regularizer 'sweep-elastic' needs the "
                                                   "setting 'l1'"),
    (dict(regularizer="sweep-elastic", l1=-1.0), ValueError, r"`l1` must be >= 0, got -1.0"),
    (dict(regularizer="sweep-elastic", l1=1.0, lmbda=5.0), ValueError,
     r"config 0: regularizer 'sweep-elastic' takes no lmbda; its settings are \['l1', 'l2'\]"),
    (dict(regularizer="l2", lmbda=1.0, l1=1.0), ValueError,
     r"config 0: regularizer 'l2' takes no l1; its settings are \['lmbda'\]"),
    (dict(regularizer=wdecay.L2(1.0), l2=1.0), ValueError,
     r"config 0: \['l2'\] are settings of a regularizer given by name"),
    (dict(regularizer="elastic-typo", l1=1.0), ValueError, "regularizer"),
])
def test_a_registered_regularizer_is_refused_in_one_line(elastic, config, error, message):
    X, y = data()
    with pytest.raises(error, match=message) as info:
        train_many(X, y, [dict(eta=0.1, **config)], sizes=[6, 3], epochs=1, batch_size=7)
    assert "\n" not in str(info.value)
