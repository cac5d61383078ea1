"""The command line: help, checked arguments, kept results, one-line errors, resume, wdecay path."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import wdecay
from wdecay import cli
from wdecay.cli import build_parser, main
from wdecay.convex import summary as PS
from wdecay.datasets import DataSplits
from wdecay.history import History
from wdecay.monitors import ProgressBar

FAST = ["--sizes", "784", "5", "10", "--no-plot"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "wdecay", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def one_error_line(err, code_text):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wdecay: error: "), err
    assert code_text in lines[0]
    assert "Traceback" not in err


# -- help ---------------------------------------------------------------------------
def test_every_option_has_help_with_its_default_or_choices(capsys):
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    assert set(subparsers) == {"experiment", "path"}
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, (name, action.dest)
            flag = action.option_strings and not action.nargs == 0
            if flag:  # options with values state their default or choices
                assert "default" in action.help, (name, action.dest)
    assert "``" not in parser.description and parser.description.startswith("wdecay: ")
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "``" not in top
    assert main(["experiment", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "{default,large}" in text and "Python wdecay.Network's default is 'default'" in text


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"wdecay {wdecay.__version__}"


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "wdecay", "--help"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0 and "experiment" in proc.stdout


# -- wdecay experiment --------------------------------------------------------------
def test_experiment_writes_files_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["experiment", "--epochs", "2", "--sizes", "784", "30", "10",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "eval acc" in text and "Layer 1 (the book's w^2, 784 -> 30): RMS shrank" in text
    assert text.rstrip().splitlines()[-1] == (f"Wrote history, summary, model, plots and the "
                                              f"report to {out}: open {out / 'report.html'}")
    for name in ("history.csv", "history.json", "summary.json", "model.json", "report.html",
                 "run.json", "checkpoint-epoch2.npz"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["layers"][0]["factor"] < 1
    assert History.from_csv(out / "history.csv") == History.from_json(out / "history.json")
    net = wdecay.load(out / "model.json")
    np.testing.assert_array_equal(net.weights[0], wdecay.load(out / "checkpoint-epoch2.npz").weights[0])


def test_sizes_accepts_spaces_and_commas(capsys):
    assert main(["experiment", "--epochs", "1", "--format", "json", "--sizes", "784,5,10"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["shape"] == [5, 784]
    assert main(["experiment", "--epochs", "1", "--format", "json", "--sizes", "784", "6", "10"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["shape"] == [6, 784]
    assert main(["experiment", "--sizes", "784", "x", "10"]) == 2
    one_error_line(capsys.readouterr().err, "--sizes")


def test_json_output_is_strict(capsys):
    assert main(["experiment", "--epochs", "1", "--format", "json", *FAST]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["layers"][0]["tailoff_epoch"] is None  # NaN -> null


def test_quiet_prints_no_leading_blank_line(capsys):
    assert main(["experiment", "--epochs", "1", "--quiet", *FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("L2 lmbda=5") and "eval acc" not in out


def test_bad_values_give_one_line_and_exit_2(capsys, tmp_path):
    for argv, text in ((["--eta", "-1"], "`eta` must be > 0"), (["--eta", "x"], "--eta"),
                       (["--init", "huge"], "invalid choice"), (["--lmbda", "1", "1"], "twice"),
                       (["--sizes", "100", "10"], "784 inputs"),
                       (["--out", str(tmp_path / "f")], "a file of that name exists"),
                       (["--dataset", "nope"], "unknown data set"),
                       (["--regularizer", "none", "--eta", "1e300", "--epochs", "2"],
                        "training diverged")):
        (tmp_path / "f").write_text("x")
        assert main(["experiment", "--epochs", "1", *FAST, *argv]) == 2, argv
        one_error_line(capsys.readouterr().err, text)


def test_idx_folder_of_non_gzip_files_is_one_line(tmp_path, capsys):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(b"not gzip at all")
    assert main(["experiment", "--dataset", "mnist", str(tmp_path)]) == 2
    one_error_line(capsys.readouterr().err, "--dataset mnist")


def test_dataset_mnist_without_path_asks_the_loader_then_the_offline_caches(monkeypatch, capsys,
                                                                            tmp_path):
    seen = []

    def fake(path=None):
        seen.append(path)
        raise FileNotFoundError("no mnist.pkl.gz found")

    monkeypatch.setattr(wdecay.datasets, "load_mnist", fake)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("SCIKIT_LEARN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "--dataset", "mnist"]) == 2
    assert seen == [None]
    err = capsys.readouterr().err
    one_error_line(err, "--dataset mnist: no MNIST on this machine")
    for place in (".keras/datasets/mnist.npz", "MNIST/raw", "scikit_learn_data", "mnist.pkl.gz"):
        assert place in err, place  # where it looked
    assert err.strip().endswith("get it with: python -c 'from wdecay.datasets import "
                                "download_mnist; download_mnist()'")


def test_header_names_the_data_both_layer_names_and_lmbda_over_n(capsys):
    assert main(["experiment", "--epochs", "1", *FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Data:   the MNIST sample shipped with wdecay")
    assert "n = 4,000 training, 500 validation, 500 test" in lines[0]
    assert lines[1] == ("Layers: layer 1 (the book's w^2, 784 -> 5), "
                        "layer 2 (the book's w^3, 5 -> 10)")
    decay = next(line for line in lines if line.startswith("Decay:"))
    assert "lmbda = 5, lmbda/n = 1.25e-3, 12.5x the book's 1e-4" in decay  # 5/4000 against 5/50000
    why = lines[lines.index(decay) + 1]
    assert "the book's lmbda = 5 gives 0.9512 at this eta and m" in why
    assert "lmbda = 5 keeps the book's per-epoch decay, lmbda = 0.4 its lmbda/n; not both" in why
    assert "this run's" not in why
    assert abs((1 - 0.1 * 5 / 4000) ** 400 - 0.9512) < 5e-5  # the printed factor, n/m = 400 steps


def test_header_gives_another_lmbdas_own_factor_and_keeps_the_books(capsys):
    """The new-user audit: --lmbda 20 was said to keep the book's per-epoch decay."""
    assert main(["experiment", "--epochs", "1", "--lmbda", "20", *FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    decay = next(line for line in lines if line.startswith("Decay:"))
    why = lines[lines.index(decay) + 1]
    assert "the book's lmbda = 5 gives 0.9512 at this eta and m (this run's lmbda = 20: " \
           "0.8187)" in why
    assert abs((1 - 0.1 * 20 / 4000) ** 400 - 0.8187) < 5e-5
    assert "lmbda = 5 keeps the book's per-epoch decay" in why
    assert "wdecay experiment --dataset fashion-mnist" in lines[lines.index(decay) + 2]


def test_several_runs_end_with_a_side_by_side_table(tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["experiment", "--epochs", "1", "--lmbda", "5", "20", "--out", str(out),
                 *FAST]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    start = lines.index("All runs side by side (R>=0.5: the first epoch R reached 0.5):")
    table = lines[start + 1:start + 5]
    assert "layer 1 (the book's w^2, 784 -> 5)" in table[0]
    assert table[1].split()[:3] == ["run", "test", "valid."]
    rows = {line.split()[0]: line.split() for line in table[2:]}
    summaries = [json.loads((out / f / "summary.json").read_text())
                 for f in ("lmbda=5", "lmbda=20")]
    for title, summary in zip(("lmbda=5", "lmbda=20"), summaries):
        assert float(rows[title][1]) == pytest.approx(summary["test_accuracy"], abs=5e-5)
        assert float(rows[title][4]) == pytest.approx(summary["layers"][0]["rms_final"], rel=1e-3)
    assert lines[-1] == (f"Wrote history, summary, model and the report to {out}: open "
                         f"{out / 'report.html'} (2 run folders)") or lines[-1].startswith(
        f"Wrote history, summary, model and the report to {out}")


def test_adaptive_optimizer_with_sgds_eta_warns_in_one_line(capsys):
    assert main(["experiment", "--epochs", "1", "--quiet", *FAST, "--optimizer", "adamw"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--optimizer adamw with eta = 0.1" in err[0]
    assert "try --eta 0.01" in err[0]
    assert main(["experiment", "--epochs", "1", "--quiet", *FAST, "--optimizer", "adam",
                 "--eta", "0.001"]) == 0
    assert capsys.readouterr().err == ""


def test_lmbda_warnings(capsys):
    assert main(["experiment", "--epochs", "1", "--quiet", "--regularizer", "none",
                 "--lmbda", "3", *FAST]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["wdecay: warning: --lmbda is ignored with --regularizer none: there is no "
                   "weight decay"]
    assert main(["experiment", "--epochs", "1", "--quiet", "--lmbda", "0", *FAST]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [
        "wdecay: warning: lmbda=0: no weight decay in that run"]


def test_arguments_are_checked_before_any_file_is_touched(tmp_path, capsys):
    out = tmp_path / "k"
    assert main(["experiment", "--epochs", "3", "--out", str(out), *FAST]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["experiment", "--eta", "0", "--out", str(out), *FAST]) == 2
    assert main(["experiment", "--epochs", "1", "--out", str(out), *FAST]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["experiment", "--epochs", "1", "--overwrite", "--out", str(out), *FAST]) == 0
    assert list(History.from_csv(out / "history.csv")["epoch"]) == [0, 1]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-epoch1.npz"]


def test_run_folders_are_unique_and_reversible(tmp_path, capsys):
    out = tmp_path / "col"
    assert main(["experiment", "--epochs", "1", "--quiet", "--lmbda", "1", "1.000001",
                 "--seeds", "0", "1", "--out", str(out), *FAST]) == 0
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(names) == 4
    back = {(float(n.split("_")[0].split("=")[1]), int(n.split("=")[2])) for n in names}
    assert back == {(1.0, 0), (1.0, 1), (1.000001, 0), (1.000001, 1)}
    for n in names:
        assert json.loads((out / n / "summary.json").read_text())["settings"]["lmbda"] == \
            float(n.split("_")[0].split("=")[1])
    assert (out / "report.html").exists()


def interrupt_at(epoch):
    original = ProgressBar.on_epoch_begin

    def on_epoch_begin(self, state):
        if state.epoch == epoch:
            raise KeyboardInterrupt
        return original(self, state)

    return on_epoch_begin


def test_ctrl_c_keeps_the_finished_epochs_and_resume_continues_exactly(tmp_path, capsys,
                                                                        monkeypatch):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    args = ["experiment", "--epochs", "5", "--quiet", "--lmbda", "5", "2", *FAST]
    assert main([*args, "--out", str(whole)]) == 0
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(ProgressBar, "on_epoch_begin", interrupt_at(3))
        assert main([*args, "--out", str(broken)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wdecay: interrupted: kept epochs 0-2 of "
                                               "lmbda=5")
    assert "--resume" in err[0]
    run = broken / "lmbda=5"
    assert json.loads((run / "summary.json").read_text())["settings"]["epochs"] == 2
    assert wdecay.load(run / "model.json").sizes == [784, 5, 10]
    assert (broken / "report.html").exists() and not (broken / "lmbda=2").exists()
    assert main(["experiment", "--resume", str(broken), "--lmbda", "3"]) == 2
    assert "drop --lmbda" in capsys.readouterr().err
    assert main(["experiment", "--resume", str(broken), "--quiet", "--no-plot"]) == 0
    for name in ("lmbda=5", "lmbda=2"):
        assert History.from_json(broken / name / "history.json") == \
            History.from_json(whole / name / "history.json")
        a, b = wdecay.load(broken / name / "model.json"), wdecay.load(whole / name / "model.json")
        for x, y in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(x, y)


def _default_sigint():
    """In the child: Ctrl-C's default, even where the suite runs as a background job.

    A non-interactive shell starts a background job (``pytest ... &``) with SIGINT
    ignored, its children inherit that, and Python keeps an inherited SIG_IGN: the
    command under test then never saw the signal and trained on (measured: a 60 s
    timeout and a run left going).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_exits_130_with_one_line(tmp_path):
    out = tmp_path / "ki"
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wdecay", "experiment", "--epochs", "100000", "--sizes", "784",
         "30", "10", "--quiet", "--no-plot", "--out", str(out)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_default_sigint)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if out.exists() and any(int(p.name[16:-4]) >= 2
                                    for p in out.glob("checkpoint-epoch*.npz")):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:  # never leave a 100000-epoch run behind
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("wdecay: interrupted: kept")
    kept = json.loads((out / "summary.json").read_text())["settings"]["epochs"]
    assert kept >= 2 and (out / "report.html").exists() and (out / "model.json").exists()
    assert len(History.from_csv(out / "history.csv")) >= kept + 1


def test_closed_pipe_keeps_the_report(tmp_path):
    out = tmp_path / "bp"
    proc = run_cli("experiment", "--epochs", "4", *FAST, "--out", str(out))
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    proc.wait(timeout=120)
    stderr = proc.stderr.read()
    assert proc.returncode == 0 and stderr == ""
    assert (out / "report.html").exists() and (out / "summary.json").exists()


# -- wdecay path -----------------------------------------------------------------------
@pytest.fixture
def small_digits(monkeypatch):
    rng = np.random.default_rng(0)

    def make(n):
        y = np.arange(n) % 10
        X = rng.random((n, 12)) * 0.3
        X[np.arange(n), y] += 1.0  # each digit lights up its own input
        return X, y

    splits = DataSplits(make(200), make(60), make(60))
    monkeypatch.setattr(cli, "_load_dataset", lambda spec: (splits, "small digits"))
    return splits


def test_path_prints_header_definitions_table_and_summary(small_digits, capsys):
    assert main(["path", "--n-lmbdas", "5"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == ("Exact optima of digit 3 (target 0) against digit 8 (target 1), "
                        "logistic regression")
    assert "n = 40 training, 12 evaluation examples, 12 inputs" in lines[1]
    assert lines[2].startswith("  penalty:  L2: (lmbda/2n) sum w^2") and "5 values" in lines[3]
    assert sum(line.startswith("  C0:") for line in lines) == 1
    assert sum(line.startswith("  residual:") for line in lines) == 1
    assert "Summary:" in out and "falls fastest between lmbda" in out
    assert "Best evaluation accuracy" in out
    table = lines[lines.index("") + 2: lines.index("Summary:") - 1]
    assert len(table) == 5


def test_path_summary_numbers_are_measured(small_digits):
    from wdecay.convex import regularization_path

    (X, y), (Xv, yv), _ = small_digits
    keep = np.isin(y, (3, 8))
    result = regularization_path(X[keep], (y[keep] == 8).astype(float)[:, None],
                                 lmbdas=[100.0, 10.0, 1.0, 0.1],
                                 evaluation_data=(Xv[np.isin(yv, (3, 8))],
                                                  (yv[np.isin(yv, (3, 8))] == 8).astype(float)[:, None]))
    s = PS.summarize(result, "l2")
    lm, norm = result.lmbdas[::-1], result.l2_norm2[::-1]
    drops = (norm[:-1] - norm[1:]) / np.log10(lm[1:] / lm[:-1])
    i = int(np.argmax(drops))
    assert (s["fastest_fall"]["lmbda_from"], s["fastest_fall"]["lmbda_to"]) == (lm[i], lm[i + 1])
    assert s["best_eval"]["accuracy"] == result.eval_accuracy.max()


def test_path_quiet_keeps_the_summary_and_json_is_strict(small_digits, capsys):
    assert main(["path", "--lmbdas", "10", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Summary:") and "falls fastest" in out
    assert main(["path", "--lmbdas", "10", "1", "--format", "json", "--penalty", "l1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["penalty"] == "l1" and len(data["rows"]) == 2
    assert "fastest_fall" in data["summary"]


@pytest.mark.parametrize("argv, text", [
    (["--digits", "3", "3"], "two different digits"),
    (["--digits", "3", "12"], "digits are 0-9"),
    (["--multiclass", "--digits", "1", "2"], "drop --digits"),
    (["--n-lmbdas", "1"], "--n-lmbdas"),
    (["--lmbdas", "0", "1"], "positive"),
])
def test_path_refuses_bad_tasks(small_digits, capsys, argv, text):
    assert main(["path", *argv]) == 2
    one_error_line(capsys.readouterr().err, text)


def test_path_out_writes_a_report(small_digits, tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["path", "--multiclass", "--lmbdas", "10", "1", "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "classes 0-9 (softmax regression)" in html and "Summary:" in html
    data = json.loads((out / "path.json").read_text())
    assert data["settings"]["model"] == "softmax"
    assert main(["path", "--multiclass", "--lmbdas", "10", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert json.loads((out / "path.json").read_text()) == data


def test_resume_with_more_epochs_extends_the_run(tmp_path, capsys):
    short, long = tmp_path / "short", tmp_path / "long"
    assert main(["experiment", "--epochs", "2", "--quiet", "--out", str(short), *FAST]) == 0
    assert main(["experiment", "--epochs", "4", "--quiet", "--out", str(long), *FAST]) == 0
    assert main(["experiment", "--resume", str(short), "--epochs", "1", "--quiet"]) == 2
    assert "at least that" in capsys.readouterr().err
    assert main(["experiment", "--resume", str(short), "--epochs", "4", "--quiet"]) == 0
    assert History.from_json(short / "history.json") == History.from_json(long / "history.json")
    assert json.loads((short / "run.json").read_text())["runs"][0]["settings"]["epochs"] == 4
    assert main(["experiment", "--resume", str(short), "--quiet"]) == 0  # finished: no-op
    assert len(History.from_csv(short / "history.csv")) == 5


def test_path_summary_names_the_nonmonotone_coefficients():
    """Against the interface SCIENCE adds to the convex Path (nonmonotone, n_nonzero)."""
    from types import SimpleNamespace

    result = SimpleNamespace(
        lmbdas=np.array([10.0, 1.0, 0.1]), l2_norm2=np.array([0.5, 2.0, 4.0]),
        l1_norm=np.array([0.0, 2.0, 3.0]), train_cost=np.ones(3), residual=np.zeros(3),
        eval_cost=np.array([0.3, 0.2, 0.25]), eval_accuracy=np.array([0.8, 0.9, 0.9]),
        coefficients=np.zeros((3, 6)), n_nonzero=np.array([0, 4, 6]),
        nonmonotone=lambda tol=None: SimpleNamespace(count=2, largest_excursion=0.25,
                                                     tolerance=1e-8, skipped_zero_columns=1,
                                                     checked=5))
    summary = PS.summarize(result, "l1")
    text = PS.summary_text(summary)
    assert "Non-monotone coefficients: 2 of 5" in text and "1 coefficient that is 0 all along skipped" in text
    assert "Best evaluation accuracy 0.9000 at lmbda = 1;" in text  # the larger of two ties
    assert "between lmbda = 1 and 10, where sum |w| goes from 2 to 0 (-100%)" in text
    rows = PS.rows(result, "l1")
    assert [r["nonzero"] for r in rows] == [0, 4, 6]
    assert "nonzero" not in PS.rows(result, "l2")[0]  # L2 zeroes nothing but round-off
    assert "nonzero" in PS.table(rows)[0]


# -- optimizers ---------------------------------------------------------------------
@pytest.mark.parametrize("argv, expected", [
    (["--optimizer", "momentum", "--momentum", "0.5"], "Momentum(decoupled=False, momentum=0.5, nesterov=False)"),
    (["--optimizer", "nesterov"], "Nesterov(decoupled=False, momentum=0.9)"),
    (["--optimizer", "adam", "--beta1", "0.8"], "Adam(beta1=0.8, beta2=0.999, eps=1e-08, decoupled=False)"),
    (["--optimizer", "adamw", "--beta2", "0.99"], "Adam(beta1=0.9, beta2=0.99, eps=1e-08, decoupled=True)"),
])
def test_optimizer_options_reach_fit(argv, expected, capsys, monkeypatch):
    seen = []
    original = wdecay.Network.fit

    def spy(self, *args, **kwargs):
        seen.append(repr(kwargs["optimizer"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(wdecay.Network, "fit", spy)
    assert main(["experiment", "--epochs", "1", "--format", "json", "--eta", "0.01", *FAST,
                 *argv]) == 0
    assert seen == [expected]
    assert json.loads(capsys.readouterr().out)["settings"]["optimizer"] == argv[1]


def test_optimizer_option_for_another_optimizer_warns(capsys):
    assert main(["experiment", "--epochs", "1", "--quiet", *FAST, "--momentum", "0.5"]) == 0
    assert "--momentum is ignored with --optimizer sgd" in capsys.readouterr().err
    assert main(["experiment", "--epochs", "1", *FAST, "--optimizer", "adam",
                 "--beta1", "1.5"]) == 2
    one_error_line(capsys.readouterr().err, "beta1")


def test_the_path_command_model_lives_in_convex():
    """cli.py parses and dispatches; the path's checks, rows and summary are wdecay.convex's."""
    import inspect

    source = inspect.getsource(cli)
    assert "two different digits" not in source and "def path_" not in source
    assert "two different digits" in inspect.getsource(PS.check_options)
    with pytest.raises(ValueError, match="--multiclass uses all ten digits"):
        PS.check_options(20, digits=(1, 2), multiclass=True)
