"""Plots render headless, are valid non-blank PNGs with labelled axes; report.html holds them."""

import html.parser
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import wdecay  # noqa: E402
from wdecay import monitors as M  # noqa: E402
from wdecay import plot  # noqa: E402
from wdecay.convex import regularization_path  # noqa: E402


@pytest.fixture(scope="module")
def history():
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 8)), rng.integers(0, 3, 60)
    net = wdecay.Network([8, 5, 3], initializer="large", seed=0)
    return net.fit(X, y, epochs=3, batch_size=6, eta=0.5, regularizer=wdecay.L2(5.0),
                   evaluation_data=(X, y), monitors=M.diagnostics(), seed=0)


def check_png(path, fig):
    from matplotlib.image import imread

    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    pixels = imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].std() > 0.02  # not blank
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


@pytest.mark.parametrize("name", ["layer_norms", "sum_vs_abs", "norm_budget"])
def test_history_plots(history, name, tmp_path):
    path = tmp_path / f"{name}.png"
    fig = getattr(plot, name)(history, path=path)
    check_png(path, fig)


def test_layer_norms_draws_prediction_and_reference_levels(history):
    fig = plot.layer_norms(history)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "layer 1 pure decay" in labels and "1/sqrt(N)" in labels
    assert any("1/sqrt(E|a_in|^2)" in label for label in labels)


def test_overlay_and_plateau(history, tmp_path):
    fig = plot.overlay({"a": history, "b": history}, "layer1/rms", path=tmp_path / "o.png")
    check_png(tmp_path / "o.png", fig)
    fig = plot.plateau([1e-3, 1e-2], [0.2, 0.1], {"1/sqrt(N)": 0.01}, path=tmp_path / "p.png")
    check_png(tmp_path / "p.png", fig)


@pytest.mark.parametrize("name", ["coefficient_paths", "path_norm", "path_costs"])
def test_path_plots(name, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), np.arange(40) % 3
    result = regularization_path(X, y, model="softmax", n_lmbdas=6, evaluation_data=(X, y))
    fig = getattr(plot, name)(result, path=tmp_path / "f.png")
    check_png(tmp_path / "f.png", fig)


def test_missing_matplotlib_names_the_extra(history, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "wdecay\[plot\]"'):
        plot.layer_norms(history)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.sections, self.tables = [], 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "section" and attrs.get("class") == "summary":
            self.sections += 1
        if tag == "table":
            self.tables += 1


def test_experiment_report_holds_every_plot_and_the_summary(tmp_path, capsys):
    from wdecay.cli import main

    assert main(["experiment", "--epochs", "2", "--lmbda", "5", "20", "--out", str(tmp_path),
                 "--quiet"]) == 0
    assert main(["experiment", "--epochs", "1", "--seeds", "0", "1", "--out", str(tmp_path / "s"),
                 "--quiet", "--no-plot"]) == 0
    assert (tmp_path / "s" / "lmbda=5_seed=1" / "summary.json").exists()
    parser = _Collector()
    parser.feed((tmp_path / "report.html").read_text())
    alts = [img["alt"] for img in parser.images]
    assert alts.count("layer_norms") == alts.count("norm_budget") == alts.count("sum_vs_abs") == 2
    assert "overlay_layer1_rms" in alts
    assert all(img["src"].startswith("data:image/png;base64,") for img in parser.images)
    assert parser.sections == 2 and parser.tables == 2
    for sub in ("lmbda=5", "lmbda=20"):
        for name in ("history.csv", "history.json", "summary.json", "model.json", "layer_norms.png"):
            assert (tmp_path / sub / name).exists()


def test_path_command(tmp_path, capsys):
    from wdecay.cli import main

    assert main(["path", "--n-lmbdas", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sum w^2" in out and len(out.strip().splitlines()) == 5
    for name in ("path.json", "coefficient_paths.png", "path_norm.png", "path_costs.png"):
        assert (tmp_path / name).exists()
