"""A class registered outside the package reaches the CLI, the experiment and the sweep grid.

Each test registers its classes (a regularizer or an optimizer that declares ``name`` and
``hyperparameters``) and removes them afterwards, so the rest of the suite sees the
shipped registries only.
"""

import json

import numpy as np
import pytest
from extensions import ElasticNet
from extensions import RMSprop as RMSpropTransform

import wdecay
from wdecay import config, sweep
from wdecay import monitors as M
from wdecay.cli import build_parser, main
from wdecay.optim import OPTIMIZERS, Optimizer
from wdecay.registry import Registry, real
from wdecay.regularizers import REGULARIZERS
from wdecay.sweep import grid as G

FAST = ["--sizes", "784", "5", "10", "--no-plot", "--epochs", "2"]




@pytest.fixture
def custom():
    """An elastic net and an RMSprop optimizer, registered for one test."""

    class Elastic(ElasticNet):
        name = "elastic"
        hyperparameters = {"l1": (real(0), None), "l2": (real(0), 0.0)}

    class RMSprop(Optimizer):
        name = "rmsprop"
        hyperparameters = {"rho": (real(0), 0.9)}

        def __init__(self, rho=0.9):
            self.rho = float(rho)
            super().__init__(decoupled=False)

        def core(self):
            return [RMSpropTransform(self.rho)]

    yield Elastic, RMSprop
    REGULARIZERS.pop("elastic")
    OPTIMIZERS.pop("rmsprop")


def test_registration_is_by_declaring_a_name(custom):
    Elastic, RMSprop = custom
    assert REGULARIZERS["elastic"] is Elastic and OPTIMIZERS["rmsprop"] is RMSprop
    assert config.constraint("rho") == real(0) and config.constraint("l1") == real(0)
    assert config.settings_of({"regularizer": "elastic", "optimizer": "rmsprop"}) == {
        "l2": 0.0, "rho": 0.9}
    assert config.OPTIMIZER_SETTINGS["rmsprop"] == ("rho",)
    with pytest.raises(ValueError, match="`rho` must be >= 0, got -1"):
        config.check("rho", -1.0)
    options = {a.dest: a for a in build_parser()._subparsers._group_actions[0]
               .choices["experiment"]._actions}
    assert {"l1", "l2", "rho"} <= set(options)
    assert "elastic" in options["regularizer"].choices
    assert "rmsprop" in options["optimizer"].choices
    assert "default: none: give it" in options["l1"].help and "default: 0.9" in options["rho"].help


def test_a_taken_name_or_a_second_constraint_is_refused(custom):
    with pytest.raises(ValueError, match="regularizer 'l2' is taken by wdecay.regularizers.L2"):
        class Mine(wdecay.Regularizer):
            name = "l2"
    with pytest.raises(ValueError, match="one setting, one constraint"):
        class Other(wdecay.Regularizer):
            name = "other-test"
            hyperparameters = {"rho": (real(0, inclusive=False), 1.0)}
    assert "other-test" not in REGULARIZERS
    with pytest.raises(ValueError, match="lower-case"):
        Registry("thing").add(object, "Thing")


def test_a_registered_regularizer_and_optimizer_run_through_the_cli(custom, capsys):
    Elastic, RMSprop = custom
    assert main(["experiment", *FAST, "--regularizer", "elastic", "--l1", "2", "--l2", "3",
                 "--optimizer", "rmsprop", "--rho", "0.8", "--eta", "0.01",
                 "--format", "json"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    s = summary["settings"]
    assert (s["regularizer"], s["l1"], s["l2"], s["optimizer"], s["rho"]) == (
        "elastic", 2.0, 3.0, "rmsprop", 0.8)
    assert s["lmbda"] is None and err == ""
    # the same run through the Python API
    splits = wdecay.datasets.load_mnist_sample()
    (X, y), evaluation, _ = splits
    net = wdecay.Network([784, 5, 10], initializer="large", seed=0)
    net.fit(X, y, epochs=2, batch_size=10, eta=0.01, regularizer=Elastic(2.0, 3.0),
            optimizer=RMSprop(0.8), seed=np.random.default_rng(0), evaluation_data=evaluation,
            monitors=[M.Accuracy("evaluation"), *M.diagnostics()])
    assert summary["eval_accuracy_final"] == net.accuracy(*evaluation)
    assert summary["layers"][0]["rms_final"] == pytest.approx(
        np.sqrt(np.mean(net.weights[0] ** 2)), rel=1e-12)


def test_the_cli_says_what_a_registered_regularizer_takes(custom, capsys):
    assert main(["experiment", *FAST, "--regularizer", "elastic", "--l1", "2", "--lmbda", "5",
                 "--momentum", "0.5"]) == 0
    out, err = capsys.readouterr()
    assert "--lmbda is ignored with --regularizer elastic: it takes --l1, --l2" in err
    assert "--momentum is ignored with --optimizer sgd" in err
    assert "Decay:  ELASTIC on n = 4,000: l1 = 2, l2 = 0" in out
    assert "ELASTIC l1=2 l2=0, eta=0.1" in out
    assert main(["experiment", *FAST, "--regularizer", "elastic"]) == 2
    assert "regularizer 'elastic' needs the setting 'l1'" in capsys.readouterr().err
    assert main(["experiment", *FAST, "--regularizer", "elastic", "--l1", "1", "--predict"]) == 2
    assert capsys.readouterr().err == (
        "wdecay: error: --predict needs a regularizer with one lmbda (l2, l1, none): the "
        "prediction reads lmbda/n, and 'elastic' has l1, l2 instead\n")


def test_a_registered_class_resumes_bit_for_bit(custom, tmp_path, capsys):
    args = ["--regularizer", "elastic", "--l1", "2", "--optimizer", "rmsprop", "--eta", "0.01",
            "--quiet"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main(["experiment", *FAST, *args, "--out", str(whole)]) == 0
    assert main(["experiment", *FAST[:-1], "1", *args, "--out", str(split)]) == 0
    assert main(["experiment", "--resume", str(split), "--epochs", "2", "--no-plot"]) == 0
    capsys.readouterr()
    a = wdecay.load(str(whole / "model.json"))
    b = wdecay.load(str(split / "model.json"))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_a_registered_regularizer_runs_in_the_sweep_grid(custom):
    Elastic, _ = custom
    grid = {"data": "random:60:5:3:0", "sizes": [5, 4, 3], "regularizer": "elastic",
            "l1": [0.5, 2.0], "l2": 1.0, "eta": 0.2, "epochs": 2}
    assert G.validate(G.expand({**grid, "l1": -1.0})) == {
        0: "ValueError: l1=-1.0: `l1` must be >= 0, got -1.0"}
    result = sweep.run(grid)
    assert [r["error"] for r in result.runs] == [None, None]
    table = result.table(("layer1/rms",))
    assert [row["l1"] for row in table] == [0.5, 2.0]
    (X, y), evaluation = G.load_data(grid["data"])
    for row, l1 in zip(table, (0.5, 2.0)):
        net = wdecay.Network([5, 4, 3], seed=0)
        net.fit(X, y, epochs=2, batch_size=10, eta=0.2, regularizer=Elastic(l1, 1.0), seed=0)
        assert row["layer1/rms"] == pytest.approx(np.sqrt(np.mean(net.weights[0] ** 2)),
                                                  rel=1e-10)


def test_each_class_takes_its_own_declared_defaults():
    from wdecay import experiment as E

    assert E.check_settings({"optimizer": "lion"})["beta2"] == 0.99
    assert E.check_settings({"optimizer": "adam"})["beta2"] == 0.999 == config.DEFAULTS["beta2"]
    assert E.make_optimizer(E.check_settings({"optimizer": "lion"})) == wdecay.optim.Lion()
    assert E.check_settings({"optimizer": "lion", "beta2": 0.9})["beta2"] == 0.9
    # the experiment's defaults of the optimizers' settings are their classes' declarations
    assert {k: config.DEFAULTS[k] for k in ("momentum", "beta1", "beta2")} == {
        "momentum": wdecay.optim.Momentum.hyperparameters["momentum"][1],
        "beta1": wdecay.optim.Adam.hyperparameters["beta1"][1],
        "beta2": wdecay.optim.Adam.hyperparameters["beta2"][1]}
