"""docs/torch.rst: its table is the stored output of examples/torch_adamw_equilibrium.py, and its
claims about that table hold; the torch examples run (small settings) and say what they promise."""

import contextlib
import io
import json
import os
import pathlib
import runpy
import sys

import numpy as np
import pytest

pytest.importorskip("torch", reason="wdecay.torch needs PyTorch (pip install torch==2.13.0)")

ROOT = pathlib.Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
STORED = ROOT / "docs" / "figures" / "torch_adamw_equilibrium.json"


def run(name, cwd, *args):
    """``python examples/NAME ARGS`` with small settings in ``cwd``; its standard output.

    Run in this process (runpy, as ``__main__``): torch and torch._dynamo, which the
    first optimizer step imports, are loaded here already, where a new interpreter took
    3 to 4 s to import them. The example's effects on the process are undone: the working
    folder, the environment, ``sys.argv``, torch's random state and its thread count (one
    thread while it runs, as in this process once tests/test_torch.py is imported).
    """
    import torch

    path = EXAMPLES / name
    env = {"WDECAY_EXAMPLE_SMALL": "1", "MPLBACKEND": "Agg"}
    saved = (os.getcwd(), {k: os.environ.get(k) for k in env}, sys.argv, torch.get_num_threads())
    os.environ.update(env)
    sys.argv = [str(path), *args]
    out = io.StringIO()
    try:
        os.chdir(cwd)
        torch.set_num_threads(1)
        with torch.random.fork_rng(), contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        os.chdir(saved[0])
        for key, value in saved[1].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sys.argv = saved[2]
        torch.set_num_threads(saved[3])
    return out.getvalue()


def stored_rows():
    return json.loads(STORED.read_text())["rows"]


def by(rows, model, tensor):
    return next(r for r in rows if r["model"] == model and r["tensor"] == tensor)


def test_docs_table_is_the_stored_output():
    script = runpy.run_path(str(EXAMPLES / "torch_adamw_equilibrium.py"))
    page = (ROOT / "docs" / "torch.rst").read_text(encoding="utf-8")
    assert script["rst_table"](stored_rows()) in page


def test_docs_claims_about_the_table():
    rows = stored_rows()
    assert all(abs(r["Q_ratio"] + r["G_ratio"] - 1) < 0.15 for r in rows)  # R about 1: settled
    ln = [by(rows, m, "fc1.weight") for m in ("MLP+LN", "MLP+LN, beta1=0")]
    assert all(r["ratio"] < 1.5 for r in ln)  # within a factor 1.5
    assert sorted(r["ratio"] for r in rows)[:2] == sorted(r["ratio"] for r in ln)  # closest
    assert 0.4 < ln[1]["Q_ratio"] < 0.6  # about half of the balance with beta1 = 0
    fc2 = [by(rows, m, "fc2.weight")["ratio"] for m in ("MLP", "MLP+LN", "MLP+LN, beta1=0")]
    assert all(3 < x < 7 for x in fc2)
    assert all(r["Q_ratio"] < 0.05 for r in rows if "beta1=0" not in r["model"])
    settings = json.loads(STORED.read_text())["settings"]
    assert settings == {"lr": 3e-3, "weight_decay": 1.0, "batch_size": 50, "n": 4000,
                        "epochs": 15, "dtype": "float32"}
    assert all(r["tau_epochs"] == pytest.approx(1 / (3e-3 * 1.0) / 80) for r in rows)


@pytest.mark.slow
def test_equilibrium_script_small(tmp_path):
    out = run("torch_adamw_equilibrium.py", tmp_path)
    data = json.loads((tmp_path / "torch_adamw_equilibrium.json").read_text())
    assert data["settings"]["n"] == 500 and "measured / estimate" in out
    for r in data["rows"]:
        # rms_end is WeightNorms' float32 figure, the ratio uses the RMS in float64
        assert r["ratio"] == pytest.approx(r["rms_end"] / r["eq_rms"], rel=1e-6)
        assert np.isfinite([r["Q_ratio"], r["G_ratio"]]).all()


@pytest.mark.slow
def test_torch_mlp_agrees_with_wdecay(tmp_path):
    out = run("torch_mlp.py", tmp_path)
    rows = [line.split() for line in out.splitlines() if line[:4] in ("SGD ", "mome", "Nest",
                                                                     "Adam")]
    assert len(rows) == 5
    for row in rows:
        i = next(k for k, w in enumerate(row) if w == "42")  # shared keys
        assert float(row[i + 1]) < 1e-10, row
    assert (tmp_path / "torch_mlp" / "report.html").exists()


@pytest.mark.slow
def test_torch_cnn(tmp_path):
    out = run("torch_cnn.py", tmp_path)
    assert out.count("epoch ") >= 2 and "tau = 1/(lr wd)" in out
    page = (tmp_path / "torch_cnn" / "report.html").read_text(encoding="utf-8")
    assert "conv2.weight" in page and "no weight decay" in page


def test_report_headings_name_the_torch_tensors(tmp_path):
    """A torch report's layer headings give PyTorch's names, not the book's w^(l+1)."""
    import torch

    import wdecay.torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.Linear(3, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    with wdecay.torch.watch(model, opt, path=str(tmp_path)) as rec:
        for _ in range(2):
            opt.zero_grad(); model(torch.ones(5, 4)).sum().backward(); opt.step()
        rec.epoch_end()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "the book&#x27;s w^" not in page and "the book's w^" not in page
    for l, name in enumerate(["0.weight", "0.bias", "1.weight", "1.bias", "2.weight"], 1):
        assert f"layer {l} = {name}" in page


def test_existing_history_error_names_watch(tmp_path):
    """A second watch on the same folder says how to continue it in watch's own terms."""
    import torch

    import wdecay.torch

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    wdecay.torch.watch(model, opt, path=str(tmp_path)).close()
    with pytest.raises(FileExistsError, match=r"watch\(\.\.\., mode='resume'\)"):
        wdecay.torch.watch(model, opt, path=str(tmp_path))
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    with wdecay.torch.watch(model, opt, path=str(tmp_path), mode="resume") as rec:
        rec.epoch_end()
    assert list(rec.history["epoch"]) == [0, 1]


@pytest.mark.parametrize("momentum", [True, False])
def test_state_before_watch_is_unknown_from_epoch_0(momentum):
    """Momentum or Adam state from before watch: the recorded decay_rule says unknown at once."""
    import torch

    import wdecay.torch

    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.1)
           if momentum else torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.1))

    def step():
        opt.zero_grad(); model(torch.randn(4, 5)).pow(2).sum().backward(); opt.step()

    step()
    with wdecay.torch.watch(model, opt) as rec:
        assert all(r.kind == "unknown" for r in rec.current_rules())
        step()
        record = rec.epoch_end()
    assert rec.history["weight/decay_rule"][0].startswith(wdecay.torch.UNKNOWN)
    assert np.isnan(record["weight/budget_D"]) and np.isfinite(record["weight/budget_measured"])
