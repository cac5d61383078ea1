"""wdecay.torch: watching changes nothing, the exact budget, names, files, agreement with wdecay."""

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="wdecay.torch needs PyTorch (pip install torch==2.13.0)")

import wdecay  # noqa: E402
import wdecay.datasets  # noqa: E402
from wdecay.monitors import AngularUpdate, Monitor, NormBudget, SumVsAbsSum, WeightNorms  # noqa: E402
from wdecay.torch import UNKNOWN, book, watch  # noqa: E402

torch.set_num_threads(1)

OPTIMIZERS = {
    "sgd": lambda g: torch.optim.SGD(g, lr=0.3),
    "momentum": lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9),
    "nesterov": lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda g: torch.optim.Adam(g, lr=0.01),
    "adamw": lambda g: torch.optim.AdamW(g, lr=0.01),
}
WDECAY = {"sgd": None, "momentum": wdecay.optim.Momentum(0.9),
          "nesterov": wdecay.optim.Nesterov(0.9), "adam": wdecay.optim.Adam(),
          "adamw": wdecay.optim.AdamW()}


def tiny(dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Sigmoid(),
                               torch.nn.Linear(5, 3)).to(dtype)


def train(model, opt, steps, rec=None, epochs=2, seed=1):
    gen = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    for _ in range(epochs):
        for _ in range(steps):
            x = torch.randn(8, 6, generator=gen, dtype=dtype)
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
        if rec is not None:
            rec.epoch_end()


def groups(model, wd):
    return book.parameter_groups(model, wd) if isinstance(model, book.BookNetwork) else [
        {"params": [p for n, p in model.named_parameters() if n.endswith("weight")],
         "weight_decay": wd},
        {"params": [p for n, p in model.named_parameters() if n.endswith("bias")],
         "weight_decay": 0.0}]


@pytest.fixture(scope="module")
def fresh_interpreter():
    """One new interpreter: whether ``import wdecay, wdecay.monitors`` imported torch, then
    what ``import wdecay.torch`` says with torch missing (its standard output, two parts)."""
    code = ("import sys, wdecay, wdecay.monitors\n"
            "print('torch' in sys.modules)\n"
            "sys.modules['torch'] = None\n"
            "try:\n    import wdecay.torch\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    imported, _, message = out.stdout.partition("\n")
    return imported, message


def test_import_wdecay_does_not_import_torch(fresh_interpreter):
    assert fresh_interpreter[0].strip() == "False"


def test_missing_torch_gives_one_line_install_hint(fresh_interpreter):
    message = fresh_interpreter[1]
    assert "pip install torch==2.13.0" in message and "wdecay[torch]" in message
    assert message.count("\n") == 1


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_watching_does_not_change_training(name):
    finals = []
    for watched in (False, True):
        model = tiny()
        opt = OPTIMIZERS[name](groups(model, 0.05))
        if watched:
            with watch(model, opt, monitors=[WeightNorms(), NormBudget(), AngularUpdate()]) as rec:
                train(model, opt, 5, rec)
        else:
            train(model, opt, 5)
        finals.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*finals))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_budget_identity(name, dtype, tol):
    model = tiny(dtype)
    opt = OPTIMIZERS[name](groups(model, 0.05))
    with watch(model, opt) as rec:
        train(model, opt, 6, rec)
    h = rec.history
    for t in rec.tensors:
        D, G, Q, M = (h[f"{t.name}/budget_{k}"][1:] for k in ("D", "G", "Q", "measured"))
        scale = np.max(np.abs([D, G, Q, M]), axis=0)
        assert np.all(np.abs(D + G + Q - M) <= tol * scale), t.name
        if t.name.endswith("bias"):  # the no-decay group: no decay part
            assert np.all(D == 0)
        else:
            assert np.all(D < 0)
    # measured is the change of ||W||^2 between records, to rounding of the norms
    fro2 = h["0.weight/fro2"]
    assert np.allclose(np.diff(fro2), h["0.weight/budget_measured"][1:], rtol=1e-3 if
                       dtype == torch.float32 else 1e-9)


class Float64Budget:
    """The budget of d = -c W steps summed per epoch in float64 from exact copies (a reference).

    Its hooks are registered after ``watch``'s; c is lr wd (SGD) or 1 - (1 - lr wd) (AdamW),
    0 in a group without decay.
    """

    def __init__(self, opt, decoupled):
        self.opt, self.decoupled, self.epochs, self.sums = opt, decoupled, [], None
        opt.register_step_pre_hook(self.pre)
        opt.register_step_post_hook(self.post)

    def params(self):
        for group in self.opt.param_groups:
            for p in group["params"]:
                yield p, group["lr"] * group["weight_decay"]

    def pre(self, opt, args, kwargs):
        self.before = [p.detach().to(torch.float64, copy=True).reshape(-1) for p, _ in self.params()]

    def post(self, opt, args, kwargs):
        self.sums = self.sums if self.sums is not None else np.zeros((len(self.before), 4))
        for i, ((p, lw), b) in enumerate(zip(self.params(), self.before)):
            c = (1.0 - (1.0 - lw) if self.decoupled else lw) if lw else 0.0
            a = p.detach().to(torch.float64).reshape(-1)
            d = -c * b
            u = a - b - d
            self.sums[i] += [float(2 * (b @ d) + d @ d), float(2 * ((b + d) @ u)), float(u @ u),
                             float(a @ a - b @ b)]

    def epoch_end(self):
        self.epochs.append(self.sums)
        self.sums = None


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5),
                                       (torch.bfloat16, 1e-5)])
@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_budget_agrees_with_a_float64_reference(name, dtype, tol):
    """Each of D, G, Q and the measured change, not only their sum: float32 work is
    accurate to 1e-5 of the largest term on a layer of 24,000 weights."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(200, 120), torch.nn.Tanh(),
                                torch.nn.Linear(120, 3)).to(dtype)
    opt = {"sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}[name](groups(model, 0.5), lr=0.01)
    gen = torch.Generator().manual_seed(1)
    with watch(model, opt, monitors=[NormBudget()]) as rec:
        ref = Float64Budget(opt, decoupled=name == "adamw")
        for _ in range(2):
            for _ in range(5):
                opt.zero_grad()
                model(torch.randn(16, 200, generator=gen).to(dtype)).pow(2).mean().backward()
                opt.step()
            rec.epoch_end()
            ref.epoch_end()
    h, order = rec.history, [id(p) for p, _ in ref.params()]
    for e, sums in enumerate(ref.epochs, 1):
        for t in rec.tensors:
            expected = sums[order.index(id(t.param))]
            got = [h[f"{t.name}/budget_{k}"][e] for k in ("D", "G", "Q", "measured")]
            assert np.all(np.abs(np.array(got) - expected) <= tol * np.max(np.abs(expected))), \
                (t.name, got, expected)


def test_budget_is_the_same_on_the_path_that_keeps_the_parts():
    """With a per-step numpy monitor the parts are kept (the general path); without, ||W||^2
    is taken before the step and the change overwrites the copy: the same budget."""
    budgets = []
    for monitors in ([NormBudget()], [NormBudget(), AngularUpdate()]):
        model = tiny()
        opt = OPTIMIZERS["adamw"](groups(model, 0.05))
        with watch(model, opt, monitors=monitors) as rec:
            train(model, opt, 4, rec)
        budgets.append(np.array([rec.history[f"{t.name}/budget_{k}"][1:] for t in rec.tensors
                                 for k in ("D", "G", "Q", "measured")]))
    assert np.allclose(budgets[0], budgets[1], rtol=1e-12, atol=0)


def test_budget_when_a_group_changes_its_rule_midway():
    """SGD (one row per tensor: the copy) turned into momentum (three rows: b, s, d)."""
    model = tiny()
    opt = torch.optim.SGD(groups(model, 0.05), lr=0.1)
    with watch(model, opt, monitors=[NormBudget()]) as rec:
        train(model, opt, 4, rec, epochs=1)
        for group in opt.param_groups:
            group["momentum"] = 0.9
        train(model, opt, 4, rec, epochs=1)
    h = rec.history
    assert [len(t.rows) for t in rec.tensors] == [3, 1, 3, 1]  # biases: no decay, d = 0
    assert rec.tensors[0].rule.kind == "momentum"
    D, G, Q, M = (h[f"0.weight/budget_{k}"][1:] for k in ("D", "G", "Q", "measured"))
    assert np.all(D < 0)
    assert np.all(np.abs(D + G + Q - M) <= 1e-12 * np.max(np.abs([D, G, Q, M]), axis=0))


def test_names_groups_and_decay_rules():
    model = tiny()
    opt = torch.optim.AdamW(groups(model, 0.1), lr=0.01)
    rec = watch(model, opt)
    first = rec.history.records[0]
    assert "0.weight/rms" in first and "2.bias/abs_sum" in first and "layer1/rms" not in first
    assert first["0.weight/decay_rule"].startswith("decoupled weight decay, AdamW")
    assert first["0.bias/decay_rule"] == "no weight decay (weight_decay = 0)"
    rec.close()


@pytest.mark.parametrize("make,why", [
    (lambda p: torch.optim.RMSprop(p, lr=0.01, weight_decay=0.1), "not one of SGD"),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1),
     "dampening"),
    (lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1), "amsgrad"),
    (lambda p: torch.optim.SGD(p, lr=0.1, maximize=True, weight_decay=0.1), "maximize"),
])
def test_unknown_decomposition_records_only_the_measured_change(make, why):
    model = tiny()
    opt = make(model.parameters())
    with watch(model, opt) as rec:
        train(model, opt, 3, rec, epochs=1)
    h = rec.history
    rule = h.records[0]["0.weight/decay_rule"]
    assert rule.startswith(UNKNOWN) and why in rule
    assert np.isnan(h.last("0.weight/budget_D")) and np.isnan(h.last("0.weight/R"))
    assert np.isfinite(h.last("0.weight/budget_measured"))
    assert "0.weight/predicted_rms" not in h


def test_attached_after_momentum_started_is_unknown():
    model = tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    train(model, opt, 2, epochs=1)
    with watch(model, opt) as rec:
        train(model, opt, 2, rec, epochs=1)
    assert np.isnan(rec.history.last("0.weight/budget_D"))


def test_per_batch_numpy_monitors_see_the_parts():
    seen = []

    class Parts(Monitor):
        def on_batch_end(self, state):
            for before, after, d, u in zip(state.weights_before, state.weights,
                                           state.decay_update, state.gradient_update):
                seen.append(float(np.max(np.abs(before + d + u - after))))
                assert not after.flags.writeable and not d.flags.writeable

    model = tiny()
    opt = torch.optim.SGD(groups(model, 0.1), lr=0.1, momentum=0.5)
    with watch(model, opt, monitors=[Parts(), AngularUpdate()]) as rec:
        train(model, opt, 3, rec, epochs=1)
    assert len(seen) == 3 * 4 and max(seen) < 1e-15
    assert rec.history.last("0.weight/angle") > 0


def test_close_detaches_and_refuses_more_records():
    model = tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = watch(model, opt, monitors=[WeightNorms()])
    rec.close()
    train(model, opt, 2, epochs=1)  # no hook left to call
    assert len(rec.history) == 1
    with pytest.raises(RuntimeError, match="closed"):
        rec.epoch_end()


def test_monitors_needing_wdecays_network_are_refused():
    model = tiny()
    with pytest.raises(ValueError, match="Balance needs wdecay's own network"):
        watch(model, torch.optim.SGD(model.parameters(), lr=0.1),
              monitors=[wdecay.monitors.Balance()])


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adamw"])
def test_pure_decay_prediction_is_exact_without_gradient(kind):
    """With a zero loss only decay moves the weights: the prediction is the measured RMS."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=0.5, weight_decay=0.1),
            "momentum": lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.8, weight_decay=0.1),
            "nesterov": lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.8, nesterov=True,
                                                   weight_decay=0.1),
            "adamw": lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.5)}[kind]
    opt = make(model.parameters())
    with watch(model, opt) as rec:
        for _ in range(3):
            for _ in range(7):
                opt.zero_grad()
                (0.0 * model(torch.ones(2, 4, dtype=torch.float64)).sum()).backward()
                opt.step()
            rec.epoch_end()
    h = rec.history
    assert np.allclose(h["weight/predicted_rms"], h["weight/rms"], rtol=1e-12)
    assert h.last("weight/rms") < 0.9 * h["weight/rms"][0]


def test_adamw_predictions_are_recorded_beside_the_measured_rms():
    model = tiny()
    opt = torch.optim.AdamW(groups(model, 0.2), lr=0.01, betas=(0.8, 0.99))
    weight = model[0].weight
    sq = []

    def normalised(optimizer, args, kwargs):  # g / (sqrt(v_hat) + eps), from torch's own state
        state = optimizer.state[weight]
        v_hat = state["exp_avg_sq"] / (1 - 0.99 ** float(state["step"]))
        sq.append(float((weight.grad / (v_hat.sqrt() + 1e-8)).pow(2).sum()))

    with watch(model, opt) as rec:
        opt.register_step_post_hook(normalised)
        train(model, opt, 5, rec)
    h = rec.history
    assert h.last("0.weight/tau_steps") == pytest.approx(1 / (0.01 * 0.2))
    assert h.last("0.weight/tau_epochs") == pytest.approx(1 / (0.01 * 0.2) / 5)
    every = wdecay.torch.decomposition.EVERY  # measured on every EVERY-th step of the tensor
    last = [x for k, x in enumerate(sq) if k % every == 0 and k >= 5]
    update_rms = np.sqrt(sum(last) / (len(last) * 30))
    assert h.last("0.weight/update_rms") == pytest.approx(update_rms, rel=1e-12)
    assert h.last("0.weight/eq_rms") == pytest.approx(update_rms * np.sqrt(0.01 / 0.4), rel=1e-12)
    assert h.last("0.weight/eq_ratio") == pytest.approx(h.last("0.weight/rms") /
                                                        h.last("0.weight/eq_rms"))
    assert "0.bias/eq_rms" not in h  # not decayed


def test_files_history_and_report(tmp_path):
    model = tiny()
    opt = torch.optim.RMSprop(groups(model, 0.1), lr=0.01)
    with watch(model, opt, path=tmp_path, title="<rms>") as rec:
        train(model, opt, 3, rec)
    names = sorted(os.listdir(tmp_path))
    assert {"history.csv", "history.json", "report.html"} <= set(names)
    back = wdecay.History.from_csv(tmp_path / "history.csv")
    assert back["0.weight/rms"].tolist() == rec.history["0.weight/rms"].tolist()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "&lt;rms&gt;" in page and "torch.optim.RMSprop" in page and "0.weight" in page
    assert "pure decay predicts" not in page and "R = (G + Q)/(-D) =" not in page and "the decay part is unknown" in page


def test_report_plots_name_the_torch_tensors(tmp_path, monkeypatch):
    """The plots get the run's tensor names ({layer: name}), not the list of plot kinds
    (a shadowed name once titled them with the book's w^2)."""
    from wdecay import plot

    seen = {}

    def fake(kind):
        def draw(history, path=None, summary=None):
            seen[kind] = summary["layer_names"]
            open(path, "wb").close()
        return draw

    monkeypatch.setattr(plot, "sum_vs_abs", fake("sum_vs_abs"))
    monkeypatch.setattr(plot, "norm_budget", fake("norm_budget"))
    model = tiny()
    opt = torch.optim.SGD(groups(model, 0.1), lr=0.1)
    with watch(model, opt, path=tmp_path) as rec:
        train(model, opt, 2, rec, epochs=1)
    expected = {l: t.name for l, t in enumerate(rec.tensors, 1)}
    assert seen and all(names == expected for names in seen.values()), seen
    assert "0.weight" in expected.values()


def test_resume_appends_to_the_same_history(tmp_path):
    model = tiny()
    opt = torch.optim.SGD(groups(model, 0.1), lr=0.1)
    with watch(model, opt, path=tmp_path, monitors=[WeightNorms()]) as rec:
        train(model, opt, 2, rec, epochs=1)
    with watch(model, opt, path=tmp_path, monitors=[WeightNorms()], mode="resume") as rec:
        train(model, opt, 2, rec, epochs=1)
    assert wdecay.History.from_csv(tmp_path / "history.csv")["epoch"].tolist() == [0, 1, 2]


# -- agreement with wdecay's own engine ---------------------------------------------

def monitors():
    return [WeightNorms(), wdecay.monitors.LayerStatistics(), SumVsAbsSum(), NormBudget()]


def shared_keys(h, th):
    """wdecay's layer keys present in the torch history under fc{l}.weight, and the totals that
    mean the same (the penalty; total/fro2 and total/l1 also sum the biases on torch)."""
    out = {}
    for key in h.keys():
        if key.startswith("layer"):
            layer, rest = key.split("/", 1)
            tkey = f"fc{layer[5:]}.weight/{rest}"
            if tkey in th:
                out[key] = tkey
        elif key in ("total/penalty", "total/penalized"):
            out[key] = key
    return out


@functools.lru_cache(maxsize=None)
def training_digits():
    """The embedded training digits, loaded once for every agreement test (only read)."""
    (X, y), _, _ = wdecay.datasets.load_mnist_sample()
    return X, y


def agree(name, rows, epochs, lmbda=5.0, batch_size=10, seed=2):
    X, y = training_digits()
    X, y = X[:rows], y[:rows]
    n = len(X)
    eta = {"sgd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adam": 1e-3, "adamw": 1e-3}[name]
    net = wdecay.Network([784, 30, 10], seed=1)
    model = book.from_network(net)
    h = net.fit(X, y, epochs=epochs, batch_size=batch_size, eta=eta,
                regularizer=wdecay.L2(lmbda), monitors=monitors(), seed=seed,
                optimizer=WDECAY[name], backend="numpy")
    opt = OPTIMIZERS[name](book.parameter_groups(model, lmbda / n))
    for group in opt.param_groups:
        group["lr"] = eta
    with watch(model, opt, monitors=monitors(), n=n) as rec:
        book.train(model, opt, rec, X, y, epochs=epochs, batch_size=batch_size, seed=seed)
    keys = shared_keys(h, rec.history)
    worst = 0.0
    for key, tkey in keys.items():
        a, b = np.asarray(h[key], float), np.asarray(rec.history[tkey], float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), key
        ok = ~np.isnan(a)
        err = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300)
        worst = max(worst, float(err.max(initial=0.0)))
    return worst, len(keys)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_agrees_with_wdecay_on_a_subset(name):
    worst, count = agree(name, rows=200, epochs=2)
    assert count >= 40
    assert worst < 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_agrees_with_wdecay_over_five_epochs(name):
    worst, count = agree(name, rows=4000, epochs=5)
    assert count >= 40
    assert worst < 1e-10


@pytest.mark.parametrize("cls", [torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW])
def test_foreach_variants_get_the_same_decomposition(cls):
    """foreach=True runs the same update equations in batched kernels: the same rule applies."""
    budgets = []
    for foreach in (False, True):
        model = tiny()
        kwargs = {"momentum": 0.9} if cls is torch.optim.SGD else {}
        opt = cls(groups(model, 0.05), lr=0.05, foreach=foreach, **kwargs)
        with watch(model, opt) as rec:
            train(model, opt, 4, rec, epochs=1)
        budgets.append([rec.history.last(f"0.weight/budget_{k}") for k in "DGQ"])
    assert np.allclose(budgets[0], budgets[1], rtol=1e-9)
