"""What classes declare beyond their names: bounded constraints, an optimizer's words and
advised eta, and the settings of costs and initializers, each read through the registry.

Each test registers its classes and removes them afterwards, so the rest of the suite sees
the shipped registries only.
"""

import json

import numpy as np
import pytest

import wdecay
from wdecay import config, sweep
from wdecay import experiment as E
from wdecay import monitors as M
from wdecay import transforms as T
from wdecay.cli import main
from wdecay.costs import COSTS, CrossEntropyCost
from wdecay.initializers import INITIALIZERS, Initializer
from wdecay.optim import OPTIMIZERS, EtaAdvice, Momentum, Optimizer, get_optimizer
from wdecay.registry import as_constraint, check_declared, check_value, describe, integer, real
from wdecay.regularizers import L2, REGULARIZERS
from wdecay.summary import decay_words
from wdecay.sweep import grid as G

FAST = ["--sizes", "784", "5", "10", "--no-plot", "--epochs", "2"]


# -- constraints with an upper bound -----------------------------------------------------
def test_a_constraint_states_both_bounds_and_the_message_names_the_one_broken():
    assert real(0, high=1) == ("real", 0, 1, "left")
    assert check_value("beta1", 0.0, real(0, high=1)) == 0.0
    # with two bounds, the message names the one broken and the whole range
    with pytest.raises(ValueError, match=r"^`beta1` must be < 1, got 1.0: it takes a real "
                                         r"number in \[0, 1\)$"):
        check_value("beta1", 1.0, real(0, high=1))
    with pytest.raises(ValueError, match=r"^`beta1` must be >= 0, got -0.5: it takes a real "
                                         r"number in \[0, 1\)$"):
        check_value("beta1", -0.5, real(0, high=1))
    for bad, error in ((float("nan"), ValueError), (float("inf"), ValueError), (True, TypeError),
                       ("0.5", TypeError), (np.array([0.5]), TypeError)):
        with pytest.raises(error, match=r"^`rho` must be .*: it takes a real number in "
                                        r"\(0, 1\)$"):
            check_value("rho", bad, real(0, inclusive=False, high=1))
    assert check_value("p", 1.0, real(0, inclusive=False, high=1, high_inclusive=True)) == 1.0
    # a real number numpy cannot test is judged by its value ("must be finite" before)
    from fractions import Fraction

    assert check_value("p", Fraction(1, 2), real(0, high=1)) == Fraction(1, 2)
    assert check_value("lmbda", 2 ** 70, real(0)) == 2 ** 70
    with pytest.raises(ValueError, match=r"^`p` must be < 1, got Fraction\(3, 2\)"):
        check_value("p", Fraction(3, 2), real(0, high=1))
    assert check_value("p", np.float32(0.5), real(0, inclusive=False, high=1)) == 0.5
    with pytest.raises(ValueError, match=r"^`p` must be > 0, got 0.0: it takes a real number "
                                         r"in \(0, 1\]$"):
        check_value("p", 0.0, real(0, inclusive=False, high=1, high_inclusive=True))
    with pytest.raises(ValueError, match=r"^`k` must be <= 3, got 4: it takes an integer in "
                                         r"\[1, 3\]$"):
        check_value("k", 4, integer(1, high=3))
    with pytest.raises(TypeError, match=r"^`k` must be an integer, got 2.0 \(float\): it takes "
                                        r"an integer in \[1, 3\]$"):
        check_value("k", 2.0, integer(1, high=3))
    with pytest.raises(ValueError, match=r"^`x` must be <= 2, got 2.5$"):
        check_value("x", 2.5, real(high=2, high_inclusive=True))
    assert [describe(c) for c in (real(0, high=1), real(0, False), integer(1, high=3),
                                  real(high=2))] == [
        "a real number in [0, 1)", "a real number > 0", "an integer in [1, 3]",
        "a real number < 2"]


def test_an_older_three_field_constraint_still_registers_as_having_no_upper_bound():
    class Old(wdecay.Regularizer):
        name = "old-constraint-test"
        hyperparameters = {"lmbda": (("real", 0, True), None)}

        def __init__(self, lmbda):
            super().__init__(lmbda)

    try:
        assert as_constraint(("real", 0, False)) == real(0, inclusive=False)
        assert config.constraint("lmbda") == real(0)  # one setting, one constraint: L2's
        assert REGULARIZERS.make("old-constraint-test", {"lmbda": 2.0}).lmbda == 2.0
    finally:
        REGULARIZERS.pop("old-constraint-test")
    for bad in (("real", 1, 0, "left"), ("real", 0, 1, "open"), ("real", 0, 1),
                ("real", 1, 1, "left"), ("integer", 2, 2, "neither")):  # empty ranges
        with pytest.raises(TypeError, match="expected .*constraint"):
            class Bad(wdecay.Regularizer):
                name = "bad-constraint-test"
                hyperparameters = {"mix": (bad, 0.5)}
    assert "bad-constraint-test" not in REGULARIZERS


def test_the_shipped_classes_declare_their_bounds_and_check_by_them():
    assert config.constraint("momentum") == real(0, high=1)
    assert config.constraint("beta1") == config.constraint("beta2") == real(0, high=1)
    # one rule: the optimizer's declaration is its transform's constraint
    assert Momentum.hyperparameters["momentum"][0] is T.Trace.constraints["momentum"]
    assert wdecay.optim.Adam.hyperparameters["beta2"][0] is T.ScaleByAdam.constraints["beta2"]
    assert wdecay.optim.Lion.hyperparameters["beta1"][0] is T.ScaleByLion.constraints["beta1"]
    assert L2.hyperparameters["lmbda"][0] is wdecay.Regularizer.constraints["lmbda"]
    for make, message in ((lambda: Momentum(1.0), "`momentum` must be < 1, got 1.0"),
                          (lambda: wdecay.optim.Adam(beta1=1.0), "`beta1` must be < 1, got 1.0"),
                          (lambda: wdecay.optim.Adam(eps=0.0), "`eps` must be > 0, got 0.0"),
                          (lambda: wdecay.optim.Lion(beta2=-1.0), "`beta2` must be >= 0"),
                          (lambda: L2(-1.0), "`lmbda` must be >= 0, got -1.0")):
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(ValueError, match="`eps` must be > 0"):
        check_declared(T.ScaleByAdam(), eps=-1.0)

    class Undeclared:  # an extension author's slip: a KeyError said only 'rho'
        pass

    with pytest.raises(TypeError, match=r"Undeclared checks setting 'rho' but declares no "
                                        r"constraint for it: add it to its hyperparameters"):
        check_declared(Undeclared(), rho=0.5)


def test_the_cli_and_the_experiment_name_the_upper_bound(capsys):
    assert main(["experiment", *FAST, "--optimizer", "momentum", "--momentum", "1"]) == 2
    assert capsys.readouterr().err == ("wdecay: error: `momentum` must be < 1, got 1.0: it takes "
                                       "a real number in [0, 1)\n")
    # a setting the run's optimizer does not take is still checked, not put in a command
    assert main(["experiment", *FAST, "--momentum", "1.5"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "wdecay: error: `momentum` must be < 1, got 1.5: it takes a real number in [0, 1)")
    with pytest.raises(ValueError, match=r"^`beta2` must be < 1, got 1.0: it takes a real "
                                         r"number in \[0, 1\)$"):
        E.check_settings({"optimizer": "adam", "beta2": 1.0})
    options = {a.dest: a for a in wdecay.cli.build_parser()._subparsers._group_actions[0]
               .choices["experiment"]._actions}
    assert "in [0, 1)" in options["momentum"].help and "in [0, 1)" in options["beta2"].help


@pytest.fixture
def shared_l2():
    """An L2 whose decay reaches only a share of the weights: a setting bounded above."""

    class SharedL2(L2):
        name = "shared-l2-test"
        hyperparameters = {"lmbda": (real(0), None),
                           "share": (real(0, high=1, high_inclusive=True), 1.0)}

        def __init__(self, lmbda=None, share=1.0):
            super().__init__(lmbda * share)
            self.share = check_declared(self, share=share)["share"]

    yield SharedL2
    REGULARIZERS.pop("shared-l2-test")


def test_the_grid_and_the_cli_name_a_registered_classs_upper_bound(shared_l2, capsys):
    grid = {"data": "random:60:5:3:0", "sizes": [5, 4, 3], "regularizer": "shared-l2-test",
            "lmbda": 1.0, "share": [0.5, 1.5]}
    assert G.validate(G.expand(grid)) == {1: "ValueError: share=1.5: `share` must be <= 1, "
                                             "got 1.5: it takes a real number in [0, 1]"}
    assert main(["experiment", *FAST, "--regularizer", "shared-l2-test", "--share", "1.5"]) == 2
    assert capsys.readouterr().err == ("wdecay: error: `share` must be <= 1, got 1.5: it takes a "
                                       "real number in [0, 1]\n")
    with pytest.raises(ValueError, match="`share` must be <= 1, got 2.0"):
        shared_l2(1.0, 2.0)  # direct construction: the same declared rule


# -- an optimizer's own words and advised eta ----------------------------------------------
def test_the_shipped_optimizers_declare_the_summarys_words():
    velocity = ("the penalty's gradient goes through the velocity with the cost's",
                "the optimizer stepped on the penalty's gradient alone, velocity included "
                "(about 1/(1 - mu) times SGD's rate once the velocity has built up)")
    assert decay_words(get_optimizer("momentum")) == velocity
    assert decay_words(get_optimizer("nesterov")) == velocity
    assert decay_words(get_optimizer("adam")) == (
        "Adam divides the penalty's gradient by the running RMS of the whole gradient", None)
    assert decay_words(get_optimizer("adamw")) == (
        "the penalty's decay step acts on the weights before Adam's step, whatever the "
        "gradients", "the decay step alone, as for SGD")
    # words read from the chain when a class declares none for its placement: a curve is
    # named exactly when the chain has one
    for opt in (Optimizer(core=[T.trace(0.5)], decoupled=False), Momentum(decoupled=True),
                Optimizer(core=[T.scale_by_adam()], decoupled=False), get_optimizer("sgd"),
                wdecay.optim.SGD(decoupled=False), get_optimizer("lion")):
        how, curve = decay_words(opt)
        assert how and (curve is None) == (opt.decay_curve is None)


@pytest.fixture
def declared_optimizers():
    """Two coupled optimizers with a velocity: one declares words and an eta, one nothing."""

    class Said(Optimizer):
        name = "said-test"
        decay_words = {"coupled": ("its velocity carries the penalty's gradient",
                                   "its own velocity on the penalty's gradient alone")}
        advised_eta = {"coupled": EtaAdvice(0.05, "its velocity multiplies the step")}

        def __init__(self):
            super().__init__(decoupled=False, core=[T.trace(0.5)])

    class Silent(Optimizer):
        name = "silent-test"

        def __init__(self):
            super().__init__(decoupled=False, core=[T.trace(0.5)])

    yield Said, Silent
    OPTIMIZERS.pop("said-test")
    OPTIMIZERS.pop("silent-test")


def test_an_optimizers_declarations_are_checked_when_it_is_defined():
    with pytest.raises(TypeError, match=r"Wordy.decay_words\['coupled'\] must be \("):
        class Wordy(Optimizer):
            name = "wordy-test"
            decay_words = {"coupled": "a sentence"}
    with pytest.raises(TypeError, match=r"Eager.advised_eta must be a dict keyed by 'coupled'"):
        class Eager(Optimizer):
            advised_eta = {"adam": EtaAdvice(0.1, "why")}
    with pytest.raises(TypeError, match=r"Eager2.advised_eta\['decoupled'\] must be EtaAdvice"):
        class Eager2(Optimizer):
            advised_eta = {"decoupled": 0.01}
    for eta in (float("inf"), float("nan"), 0.0, True):  # the CLI would advise "--eta inf"
        with pytest.raises(TypeError, match=r"Eager3.advised_eta\['coupled'\] must be "
                                            r"EtaAdvice\(0.001, \"why\"\) with a finite eta > 0"):
            class Eager3(Optimizer):
                advised_eta = {"coupled": EtaAdvice(eta, "why")}
    assert "wordy-test" not in OPTIMIZERS


def test_a_registered_optimizer_gets_its_own_words_or_true_generic_ones(declared_optimizers,
                                                                           capsys):
    assert main(["experiment", *FAST, "--optimizer", "said-test", "--quiet"]) == 0
    text, err = capsys.readouterr()
    assert err == ("wdecay: warning: --optimizer said-test with eta = 0.1, plain SGD's step: "
                   "its velocity multiplies the step; try --eta 0.05\n")
    assert ("  Optimizer said-test, coupled: its velocity carries the penalty's gradient. In "
            "the last epoch decay removed") in text
    assert "Its pure-decay curve is its own velocity on the penalty's gradient alone" in text
    assert main(["experiment", *FAST, "--optimizer", "silent-test", "--eta", "0.05",
                 "--quiet"]) == 0
    text, err = capsys.readouterr()
    assert err == ""
    assert ("  Optimizer silent-test, coupled: the penalty's gradient goes through the "
            "optimizer's linear transforms with the cost's. In the last epoch") in text
    assert ("Its pure-decay curve is the optimizer's chain stepped on the penalty's gradient "
            "alone") in text


# -- costs and initializers with settings -------------------------------------------------
@pytest.fixture
def with_settings():
    """An initializer with a gain and a cost with a weight, registered for one test."""

    class Gained(Initializer):
        name = "gained-test"
        hyperparameters = {"gain": (real(0, inclusive=False), 1.0)}

        def __init__(self, gain=1.0):
            self.gain = float(check_declared(self, gain=gain)["gain"])

        def weight_scale(self, n_in):
            return self.gain / np.sqrt(n_in)

    class Weighted(CrossEntropyCost):
        name = "weighted-test"
        kernel_id = None  # the compiled epoch does not know it
        hyperparameters = {"weight": (real(0, inclusive=False), 1.0)}

        def __init__(self, weight=1.0):
            self.weight = float(check_declared(self, weight=weight)["weight"])

        def fn(self, z, a, y):
            return self.weight * super().fn(z, a, y)

        def delta(self, z, a, y, out=None):
            out = super().delta(z, a, y, out)
            out *= self.weight
            return out

    yield Gained, Weighted
    INITIALIZERS.pop("gained-test")
    COSTS.pop("weighted-test")


def _fit(initializer, cost):
    splits = wdecay.datasets.load_mnist_sample()
    (X, y), evaluation, _ = splits
    net = wdecay.Network([784, 5, 10], initializer=initializer, cost=cost, seed=0)
    net.fit(X, y, epochs=2, batch_size=10, eta=0.1, regularizer=L2(5.0),
            seed=np.random.default_rng(0), evaluation_data=evaluation,
            monitors=[M.Accuracy("evaluation"), *M.diagnostics()])
    return net, evaluation


def test_an_initializer_and_a_cost_are_made_with_their_settings_by_the_experiment(
        with_settings, capsys):
    Gained, Weighted = with_settings
    assert main(["experiment", *FAST, "--init", "gained-test", "--gain", "0.5", "--cost",
                 "weighted-test", "--weight", "2", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summary = json.loads(out)
    s = summary["settings"]
    assert (s["init"], s["gain"], s["cost"], s["weight"]) == ("gained-test", 0.5,
                                                              "weighted-test", 2.0)
    net, evaluation = _fit(Gained(0.5), Weighted(2.0))
    assert summary["eval_accuracy_final"] == net.accuracy(*evaluation)
    assert summary["layers"][0]["rms_final"] == pytest.approx(
        np.sqrt(np.mean(net.weights[0] ** 2)), rel=1e-12)
    default, _ = _fit(Gained(), Weighted())  # the settings change the run
    assert summary["layers"][0]["rms_final"] != pytest.approx(
        np.sqrt(np.mean(default.weights[0] ** 2)), rel=1e-6)
    assert main(["experiment", *FAST, "--gain", "0.5", "--weight", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["wdecay: warning: --gain is ignored with --init large",
                   "wdecay: warning: --weight is ignored with --cost cross-entropy",
                   "wdecay: error: `weight` must be > 0, got 0.0"]


def test_a_run_with_an_initializers_and_a_costs_settings_resumes_bit_for_bit(
        with_settings, tmp_path, capsys):
    Gained, Weighted = with_settings
    args = ["--init", "gained-test", "--gain", "0.5", "--cost", "weighted-test", "--weight",
            "2", "--quiet"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main(["experiment", *FAST, *args, "--out", str(whole)]) == 0
    assert main(["experiment", *FAST[:-1], "1", *args, "--out", str(split)]) == 0
    assert main(["experiment", "--resume", str(split), "--epochs", "2", "--no-plot"]) == 0
    capsys.readouterr()
    stored = json.loads((split / "run.json").read_text())["runs"][0]["settings"]
    assert (stored["gain"], stored["weight"]) == (0.5, 2.0)
    loaded = wdecay.load(str(split / "model.json"))  # the cost named by its class
    assert (loaded.cost, loaded.initializer) == (Weighted(2.0), Gained(0.5))
    a = wdecay.load(str(whole / "model.json"))
    b = wdecay.load(str(split / "model.json"))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_the_grid_makes_an_initializer_per_network_and_a_cost_per_batch(with_settings):
    Gained, Weighted = with_settings
    grid = {"data": "random:60:5:3:0", "sizes": [5, 4, 3], "initializer": "gained-test",
            "gain": [0.5, 2.0], "cost": "weighted-test", "weight": [1.0, 3.0], "eta": 0.2,
            "lmbda": 1.0, "epochs": 2}
    bad = G.validate(G.expand({**grid, "gain": -1.0, "weight": 1.0}))
    assert bad == {0: "ValueError: gain=-1.0: `gain` must be > 0, got -1.0"}
    bad = G.validate(G.expand({**grid, "gain": 1.0, "weight": [1.0, 0.0]}))
    assert bad == {1: "ValueError: weight=0.0: `weight` must be > 0, got 0.0"}
    result = sweep.run(grid)
    assert [r["error"] for r in result.runs] == [None] * 4
    (X, y), _ = G.load_data(grid["data"])
    for r in result.runs:
        c = r["config"]
        net = wdecay.Network([5, 4, 3], initializer=Gained(c["gain"]),
                             cost=Weighted(c["weight"]), seed=0)
        net.fit(X, y, epochs=2, batch_size=10, eta=0.2, regularizer=L2(1.0), seed=0)
        assert r["history"]["layer1/rms"][-1] == pytest.approx(
            np.sqrt(np.mean(net.weights[0] ** 2)), rel=1e-10)


def test_a_saved_model_keeps_its_costs_and_initializers_settings(with_settings, tmp_path):
    """A model file stores the settings its cost and initializer declare; loading makes them
    with those settings, checked, and refuses a file that lacks, adds or breaks one."""
    Gained, Weighted = with_settings
    net = wdecay.Network([4, 3, 2], cost=Weighted(2.0), initializer=Gained(0.5), seed=0)
    for name in ("m.json", "m.npz"):
        wdecay.save(net, str(tmp_path / name))
        back = wdecay.load(str(tmp_path / name))
        assert (back.cost, back.initializer) == (Weighted(2.0), Gained(0.5))
    plain = wdecay.Network([4, 3, 2], seed=0)  # the shipped classes declare none: no new key
    wdecay.save(plain, str(tmp_path / "p.json"))
    assert sorted(json.loads((tmp_path / "p.json").read_text())) == [
        "activation", "biases", "cost", "dtype", "format", "initializer", "sizes", "weights"]
    data = json.loads((tmp_path / "m.json").read_text())
    assert (data["cost_settings"], data["initializer_settings"]) == ({"weight": 2.0},
                                                                      {"gain": 0.5})
    for edit, message in (
            ({"cost_settings": {"weight": 0.0}}, r"`cost_settings\['weight'\]` must be > 0"),
            ({"cost_settings": {"weight": 2.0, "scale": 1.0}}, r"unknown: \['scale'\]"),
            ({"initializer_settings": {}}, r"missing: \['gain'\]"),
            ({"cost_settings": None}, "declares the settings \\['weight'\\], but the file stores"),
            ({"cost": "CrossEntropyCost"}, "CrossEntropyCost declares no settings")):
        edited = {**data, **edit}
        (tmp_path / "e.json").write_text(json.dumps(edited))
        with pytest.raises(ValueError, match=message):
            wdecay.load(str(tmp_path / "e.json"))


def test_the_grid_refuses_a_setting_no_class_of_the_point_takes(with_settings):
    """A setting the point's regularizer, initializer and cost all ignore would train as without
    it while the row records it: the point is refused, naming what each class takes."""
    grid = {"data": "random:60:5:3:0", "sizes": [5, 4, 3], "lmbda": 1.0, "epochs": 1}
    for extra, key in (({"initializer": "default", "gain": 2.0}, "gain"),
                       ({"cost": "cross-entropy", "weight": 2.0}, "weight")):
        bad = G.validate(G.expand({**grid, **extra}))
        assert bad == {0: f"ValueError: {key}=2.0: no class of this point takes {key} "
                          "(regularizer 'l2' takes ['lmbda'], initializer 'default' takes "
                          "none, cost 'cross-entropy' takes none); drop it, or name a class "
                          "that declares it"}
        with pytest.raises(ValueError, match=f"no class of this point takes {key}"):
            sweep.run({**grid, **extra}, on_invalid="raise")
    # each point of a grid over classes is checked against its own classes
    mixed = G.validate(G.expand({**grid, "initializer": ["default", "gained-test"],
                                 "gain": 2.0}))
    assert list(mixed) == [0]
    assert G.validate(G.expand({**grid, "initializer": "gained-test", "gain": 2.0,
                                "cost": "weighted-test", "weight": None})) == {}
    # train_many names the initializer too when it is an initializer's setting
    X, y = np.random.default_rng(0).random((20, 5)), np.arange(20) % 3
    with pytest.raises(ValueError, match=r"^config 0: regularizer 'l2' takes no gain; its "
                       r"settings are \['lmbda'\]; nor does initializer 'default' \(its "
                       r"settings are none\)$"):
        sweep.train_many(X, y, [{"gain": 2.0}], sizes=[5, 4, 3], epochs=1, batch_size=10)


def test_summarize_run_describes_an_optimizer_no_registered_name_makes():
    """summarize_run names such an optimizer by its class; its sentences and kappa's comparability
    come from the optimizer itself, not from a name that makes another one (or none)."""
    from wdecay.experiment import summarize_run
    from wdecay.summary import summary_text

    rng = np.random.default_rng(0)
    X, y = rng.random((200, 6)), rng.integers(0, 3, 200)

    def text(optimizer):
        net = wdecay.Network([6, 4, 3], seed=0)
        h = net.fit(X, y, epochs=3, batch_size=10, eta=0.05, regularizer=L2(20.0),
                    monitors=M.diagnostics(), seed=0, optimizer=optimizer)
        summary = summarize_run(h, net, regularizer=L2(20.0), eta=0.05, batch_size=10,
                                n_train=200, seed=0, optimizer=optimizer)
        again = json.loads(json.dumps(summary))  # a summary read back from its JSON
        assert summary_text(again) == summary_text(summary)
        return summary, summary_text(summary)

    summary, said = text(wdecay.optim.SGD(decoupled=False))  # no transform of its own
    assert [L["kappa_comparable"] for L in summary["layers"]] == [True, True]
    assert ("  Optimizer SGD, coupled: the penalty's gradient is added to the cost's, with no "
            "transform of the optimizer's own.") in said
    assert "change the step, so R differs" not in said
    summary, said = text(Momentum(0.5, decoupled=True))
    assert not summary["layers"][0]["kappa_comparable"]
    assert ("  Optimizer Momentum, decoupled: the penalty's decay step acts on the weights apart "
            "from the optimizer's own step, whatever the gradients.") in said
    # momentum averages the gradient in its velocity; it does not rescale it
    assert "change the step, so R differs" in said and "rescales the gradient" not in said
    _, said = text(Optimizer(core=[T.trace(0.5)], decoupled=False))
    assert ("  Optimizer Optimizer, coupled: the penalty's gradient goes through the optimizer's "
            "linear transforms with the cost's.") in said
    assert "Its pure-decay curve is the optimizer's chain stepped on the penalty's" in said
    summary, said = text(None)  # a registered name makes it: nothing more is stored
    assert "optimizer" not in summary and "Optimizer" not in said
    for name in ("momentum", "adam", "lion"):  # after training too
        summary, said = text(get_optimizer(name))
        assert "optimizer" not in summary and f"  Optimizer {name}, " in said


def test_a_setting_given_as_none_takes_its_classs_default_and_is_recorded_so(shared_l2,
                                                                              with_settings):
    """None for a setting with a declared default is that default (as an option not given),
    for every family: it was refused as missing for a regularizer or optimizer, and recorded
    as None for an initializer or cost whose default then trained."""
    s = E.check_settings({"regularizer": "shared-l2-test", "share": None, "init": "gained-test",
                          "gain": None, "cost": "weighted-test", "weight": None,
                          "optimizer": "adam", "beta1": None})
    assert (s["share"], s["gain"], s["weight"], s["beta1"]) == (1.0, 1.0, 1.0, 0.9)
    with pytest.raises(TypeError, match="regularizer 'l2' needs the setting 'lmbda'"):
        E.check_settings({"lmbda": None})  # no default: still needed


def test_numpy_scalar_settings_are_checked_and_stored_as_python_numbers(with_settings,
                                                                       tmp_path):
    """A numpy integer or float setting passes its constraint; the run stores it as the same
    Python number, so the checkpoint and run.json can hold it (it failed at the first
    checkpoint, after an epoch of training)."""
    s = E.check_settings({"sizes": list(np.array([784, 5, 10])), "batch_size": np.int64(10),
                          "lmbda": np.float32(5.0), "init": "gained-test",
                          "gain": np.float64(0.5), "epochs": np.int64(1)})
    assert [type(s[k]) for k in ("batch_size", "lmbda", "gain", "epochs")] == [int, float,
                                                                               float, int]
    assert s["sizes"] == [784, 5, 10] and all(type(k) is int for k in s["sizes"])
    from fractions import Fraction

    assert type(E.check_settings({"init": "gained-test", "gain": Fraction(1, 2)})["gain"]) \
        is float
    with pytest.raises(ValueError, match="`gain` must be > 0"):
        E.check_settings({"init": "gained-test", "gain": np.float64(0.0)})
    from wdecay.datasets import load_mnist_sample

    splits = load_mnist_sample()
    net, history, _ = E.run(splits, {"sizes": [784, 5, 10], "epochs": np.int64(1),
                                     "batch_size": np.int64(10), "lmbda": np.float32(5.0)},
                            table=False, progress=False, checkpoint_dir=str(tmp_path),
                            history_path=str(tmp_path / "history.csv"))
    assert [k for _, k in E.checkpoints(tmp_path)] == [1]


def test_train_many_names_the_config_whose_class_setting_is_refused(with_settings, shared_l2):
    X, y = np.random.default_rng(0).random((20, 5)), np.arange(20) % 3
    good = {"initializer": "gained-test", "gain": 2.0}
    for bad, message in (({"initializer": "gained-test", "gain": 0.0},
                          r"^config 1: `gain` must be > 0, got 0.0$"),
                         ({"regularizer": "shared-l2-test", "lmbda": 1.0, "share": 1.5},
                          r"^config 1: `share` must be <= 1, got 1.5: it takes a real number "
                          r"in \[0, 1\]$")):
        with pytest.raises(ValueError, match=message):
            sweep.train_many(X, y, [good, bad], sizes=[5, 4, 3], epochs=1, batch_size=10)


def test_summarize_run_names_an_unregistered_initializer_or_cost_by_class_and_no_command():
    """An initializer or cost no registered name makes is named by its class, and the summary
    suggests no command (it said ``--init initializer``, or omitted a cost subclass that
    inherits ``"cross-entropy"`` as if it were the default)."""
    from wdecay.experiment import summarize_run
    from wdecay.summary import summary_text

    class Mine(Initializer):
        def weight_scale(self, n_in):
            return 0.3 / np.sqrt(n_in)

    class MyCost(CrossEntropyCost, register=False):
        pass

    rng = np.random.default_rng(0)
    X, y = rng.random((200, 6)), rng.integers(0, 3, 200)
    for kw, key, name in (({"initializer": Mine()}, "init", "Mine"),
                          ({"cost": MyCost()}, "cost", "MyCost"), ({}, "init", "default")):
        net = wdecay.Network([6, 4, 3], seed=0, **kw)
        h = net.fit(X, y, epochs=3, batch_size=10, eta=0.05, regularizer=L2(20.0),
                    monitors=M.diagnostics(), seed=0)
        summary = summarize_run(h, net, regularizer=L2(20.0), eta=0.05, batch_size=10,
                                n_train=200, seed=0)
        assert summary["settings"][key] == name
        commands = [line for line in summary_text(summary).splitlines()
                    if "wdecay experiment" in line]
        assert len(commands) == (2 if name == "default" else 0), commands


def test_a_cost_subclass_that_inherits_a_name_is_saved_by_its_own_class_name(tmp_path):
    """A subclass of a shipped cost, not registered, was saved as the shipped class and loaded
    back as it; it is saved by its own class name, which loading refuses as unknown."""

    class Sharper(CrossEntropyCost, register=False):
        def delta(self, z, a, y, out=None):
            return np.multiply(2.0, np.subtract(a, y), out=out)

    net = wdecay.Network([4, 3, 2], cost=Sharper(), seed=0)
    wdecay.save(net, str(tmp_path / "m.json"))
    assert json.loads((tmp_path / "m.json").read_text())["cost"] == "Sharper"
    with pytest.raises(ValueError, match="unknown cost 'Sharper'"):
        wdecay.load(str(tmp_path / "m.json"))
    wdecay.save(wdecay.Network([4, 3, 2], seed=0), str(tmp_path / "p.json"))  # network2's name
    assert json.loads((tmp_path / "p.json").read_text())["cost"] == "CrossEntropyCost"
