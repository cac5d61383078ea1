"""Adversarial checks of the registry: malformed declarations, taken setting names, run.json
and settings naming classes or values the registry does not know, in one clear line each."""

import json
import math

import numpy as np
import pytest

import wdecay
from wdecay import config, registry
from wdecay import experiment as E
from wdecay.cli import CLI_OPTIONS, build_parser, main
from wdecay.optim import OPTIMIZERS
from wdecay.registry import Registry, integer, real
from wdecay.regularizers import REGULARIZERS

FAST = ["--sizes", "784", "5", "10", "--no-plot", "--epochs", "1", "--quiet"]


@pytest.fixture
def clean():
    """Whatever a test registers is removed afterwards."""
    before = {id(r): dict(r) for r in registry.REGISTRIES}
    yield
    for r in registry.REGISTRIES:
        for name in set(r) - set(before.get(id(r), {})):
            r.pop(name)


def test_a_malformed_declaration_is_refused_naming_the_setting(clean):
    with pytest.raises(TypeError, match=r"declares setting 'rho' as 0.9; expected "
                                        r"\(constraint, default\)"):
        class Bad(wdecay.Regularizer):
            name = "bad-shape"
            hyperparameters = {"rho": 0.9}
    with pytest.raises(TypeError, match="hyperparameters must be a dict"):
        class Bad2(wdecay.Regularizer):
            name = "bad-list"
            hyperparameters = [("rho", (real(0), 0.9))]
    assert "bad-shape" not in REGULARIZERS and "bad-list" not in REGULARIZERS


def test_a_default_its_constraint_refuses_is_refused_at_registration(clean):
    with pytest.raises(ValueError, match=r"the default -1.0 of setting 'rho2', which its "
                                         r"constraint refuses: `rho2` must be >= 0"):
        class Bad(wdecay.Regularizer):
            name = "bad-default"
            hyperparameters = {"rho2": (real(0), -1.0)}
    with pytest.raises(ValueError, match="`steps` must be an integer"):
        class Bad2(wdecay.Regularizer):
            name = "bad-default2"
            hyperparameters = {"steps": (integer(1), 2.5)}
    assert "bad-default" not in REGULARIZERS


@pytest.mark.parametrize("key, owner", [("epochs", "a run's own setting"),
                                        ("seed", "a run's own setting"),
                                        ("regularizer", "a run's own setting"),
                                        ("format", "an option of wdecay experiment"),
                                        ("out", "an option of wdecay experiment")])
def test_a_class_cannot_declare_a_setting_the_run_or_the_cli_owns(clean, key, owner):
    with pytest.raises(ValueError, match=f"declares setting '{key}', which is {owner}"):
        class Mine(wdecay.optim.Optimizer):
            name = "mine-reserved"
            hyperparameters = {key: (real(0), 1.0)}
    assert "mine-reserved" not in OPTIMIZERS


def test_every_option_of_wdecay_experiment_is_a_setting_or_reserved():
    exp = build_parser()._subparsers._group_actions[0].choices["experiment"]
    dests = {a.dest for a in exp._actions}
    settings = set(config.RUN_SETTINGS) | set(config.class_settings())
    assert dests - settings == set(CLI_OPTIONS) - {"command", "version"}
    assert set(CLI_OPTIONS) <= set(registry.RESERVED)


def test_a_refused_registration_leaves_the_entry_unchanged(clean):
    def factory(rho=1.0):
        return None

    factory.hyperparameters = {"rho": (real(0), 1.0)}
    with pytest.raises(ValueError, match="one setting, one constraint"):
        OPTIMIZERS.add(factory, "factory-test", {"momentum": (real(0, inclusive=False), 0.5)})
    assert factory.hyperparameters == {"rho": (real(0), 1.0)}
    assert "factory-test" not in OPTIMIZERS
    with pytest.raises(ValueError, match="lower-case"):
        Registry("thing").add(factory, "Thing", {"x": (real(0), 1.0)})
    assert factory.hyperparameters == {"rho": (real(0), 1.0)}


def test_names_are_the_registered_ones_whatever_their_case():
    s = E.check_settings({"regularizer": "L2", "optimizer": "Adam"})
    assert (s["regularizer"], s["optimizer"]) == ("l2", "adam")
    assert E.make_optimizer({**s, "optimizer": "AdamW"}) == wdecay.optim.AdamW()
    # the summary's suggested command then names an option the CLI takes
    from wdecay.summary import _command
    assert "--regularizer" not in _command(E.check_settings({"regularizer": "L2"}))


@pytest.mark.parametrize("value", [{"a": 1}, ["adam"], 3, None])
def test_an_optimizer_that_is_no_name_is_refused_in_one_line(value):
    with pytest.raises(TypeError, match=r"`optimizer` must be the name of a registered "
                                        r"optimizer \(one of 'adam', .*\), got "):
        E.check_settings({"optimizer": value})


def test_a_setting_no_class_of_the_run_takes_is_still_checked():
    with pytest.raises(TypeError, match=r"`momentum` must be a real number, got 'x'"):
        E.check_settings({"optimizer": "sgd", "momentum": "x"})
    with pytest.raises(ValueError, match=r"`beta2` must be finite, got nan"):
        E.check_settings({"optimizer": "momentum", "beta2": math.nan})


def test_an_unregistered_class_is_named_before_its_settings():
    with pytest.raises(ValueError, match="unknown regularizer 'elastic'; choose one of"):
        E.check_settings({"regularizer": "elastic", "l1": 1.0, "l2": 2.0})


def test_integers_beyond_float64_are_checked_not_crashed_on():
    assert E.check_settings({"seed": 10 ** 30})["seed"] == 10 ** 30
    with pytest.raises(ValueError, match="`lmbda` must be finite"):
        E.check_settings({"lmbda": 10 ** 400})


@pytest.mark.parametrize("change, expected", [
    ({"optimizer": {"a": 1}}, "`optimizer` must be the name of a registered optimizer"),
    ({"momentum": "x"}, "`momentum` must be a real number, got 'x' (str)"),
    ({"regularizer": "elastic", "l1": 1.0}, "unknown regularizer 'elastic'"),
    ({"lmbda": 10 ** 400}, "`lmbda` must be finite"),
])
def test_a_run_json_naming_bad_settings_is_refused_in_one_line(tmp_path, capsys, change,
                                                              expected):
    out = tmp_path / "run"
    assert main(["experiment", *FAST, "--out", str(out)]) == 0
    data = json.loads((out / "run.json").read_text())
    data["runs"][0]["settings"].update(change)
    (out / "run.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["experiment", "--resume", str(out), "--epochs", "2", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wdecay: error: ") and expected in err, err


def _short_run(regularizer, optimizer=None):
    from wdecay.monitors import diagnostics

    rng = np.random.default_rng(0)
    X, y = rng.random((40, 4)), rng.integers(0, 2, 40)
    net = wdecay.Network([4, 3, 2], seed=0)
    h = net.fit(X, y, epochs=2, batch_size=10, eta=0.5, regularizer=regularizer,
                optimizer=optimizer, monitors=diagnostics(), seed=0)
    return E.summarize_run(h, net, regularizer=regularizer, eta=0.5, batch_size=10, n_train=40,
                           seed=0, optimizer=optimizer)


def test_a_subclass_not_registered_under_its_inherited_name_is_not_called_by_it():
    from wdecay.summary import _next_command

    class MyL2(wdecay.L2, register=False):
        pass

    summary = _short_run(MyL2(1.0))
    assert summary["settings"]["regularizer"] == "MyL2"
    assert _next_command(summary) is None  # no command: the CLI's l2 is not this class
    assert _short_run(wdecay.L2(1.0))["settings"]["regularizer"] == "l2"


def test_a_registered_optimizer_whose_setting_has_no_default_is_named(clean):
    from wdecay.optim import Optimizer, optimizer_name

    class Signum(Optimizer):
        name = "signum-test"
        hyperparameters = {"rho": (real(0), None)}

        def __init__(self, rho):
            self.rho = float(rho)
            super().__init__(decoupled=True)

        def core(self):
            return []

    assert optimizer_name(Signum(0.5)) == "signum-test"
    assert optimizer_name(wdecay.optim.Lion()) == "lion"
    assert optimizer_name(wdecay.optim.AdamW()) == "adamw"
    assert optimizer_name(wdecay.optim.Momentum(nesterov=True)) == "Momentum"
    summary = _short_run(wdecay.L2(1.0), Signum(0.5))
    assert (summary["settings"]["optimizer"], summary["settings"]["rho"]) == ("signum-test", 0.5)


def test_path_refuses_a_repeated_lmbda_in_one_line(capsys):
    assert main(["path", "--lmbdas", "1", "2", "1", "--quiet"]) == 2
    assert capsys.readouterr().err == "wdecay: error: argument --lmbdas: 1 given twice\n"


def test_a_name_registered_again_as_another_penalty_does_not_resume(clean, tmp_path, capsys):
    def elastic(scale):
        class Elastic(wdecay.Regularizer):
            name = "elastic-audit"
            hyperparameters = {"l1": (real(0), None)}

            def __init__(self, l1):
                self.l1 = float(l1)

            def penalty(self, weights, n):
                return scale * sum(self.l1 / n * float(np.abs(w).sum()) for w in weights)

            def gradient(self, w, n):
                return scale * self.l1 / n * np.sign(w)

        return Elastic

    elastic(1.0)
    out = tmp_path / "run"
    assert main(["experiment", *FAST, "--regularizer", "elastic-audit", "--l1", "1",
                 "--out", str(out)]) == 0
    REGULARIZERS.pop("elastic-audit")
    elastic(2.0)  # the same name and settings, another penalty
    capsys.readouterr()
    assert main(["experiment", "--resume", str(out), "--epochs", "2", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "records the penalty" in err and "l1 1.0" in err, err


def test_the_header_of_a_registered_regularizer_without_settings_says_it_decays(clean, capsys):
    class Book(wdecay.L2):
        """The book's L2, lmbda = 5 fixed: a regularizer that declares no setting."""
        name = "book-audit"
        hyperparameters = {}

        def __init__(self):
            super().__init__(5.0)

    assert main(["experiment", *FAST[:-1], "--regularizer", "book-audit"]) == 0
    out = capsys.readouterr().out
    assert "Decay:  BOOK-AUDIT on n = 4,000: lmbda = 5\n" in out
    assert "Decay:  none in this run" not in out
    assert main(["experiment", *FAST[:-1], "--regularizer", "none"]) == 0
    assert "Decay:  none in this run" in capsys.readouterr().out
