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


def test_layer_norms_draws_pure_decay_and_one_reference_level(history):
    fig = plot.layer_norms(history)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "layer 1: pure decay" in labels and "layer 2: pure decay" in labels
    assert "layer 1 (the book's w^2): RMS" in labels  # both names, wdecay's and the book's
    refs = [lab for lab in labels if "sqrt" in lab]
    assert len(refs) == 1 and refs[0].startswith("the exercise's 1/sqrt(N) = ")  # not five
    pure = {line.get_label(): line for line in ax.get_lines() if "pure decay" in line.get_label()}
    one, two = pure["layer 1: pure decay"], pure["layer 2: pure decay"]
    assert (one.get_linestyle(), one.get_marker()) != (two.get_linestyle(), two.get_marker())
    assert two.get_marker() not in (None, "None", "")  # markers tell overlapping curves apart


def test_plots_name_the_layers_a_run_names(history):
    # a torch run's report passes its tensor names; no plot may call them the book's w^(l+1)
    names = {1: "fc1.weight", 2: "ln.weight"}
    fig = plot.sum_vs_abs(history, summary={"layer_names": names})
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("layer 1 = fc1.weight") for t in titles)
    assert any(t.startswith("layer 2 = ln.weight") for t in titles)
    assert not any("book's" in t for t in titles)
    fig = plot.norm_budget(history, summary={"layer_names": names})
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert "layer 2 = ln.weight" in labels and not any("book's" in lab for lab in labels)


def _summary(plateaus, tailoffs, sizes=(8, 5, 3), measured=(None, None)):
    return {"settings": {"sizes": list(sizes)},
            "layers": [{"layer": l, "predicted_plateau": p, "predicted_tailoff_epoch": t,
                        "tailoff_epoch": float("nan") if m is None else m}
                       for l, (p, t, m) in enumerate(zip(plateaus, tailoffs, measured), 1)]}


def test_layer_norms_draws_the_predicted_plateau_and_tailoff(history):
    summary = _summary([0.05, None], [12.5, None])
    fig = plot.layer_norms(history, summary=summary)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    plateau = lines["layer 1: predicted plateau 0.0500"]
    assert np.allclose(plateau.get_ydata(), 0.05)
    star = lines["layer 1: predicted tail-off, epoch 12.5"]
    assert star.get_marker() == "*"
    assert np.allclose(star.get_xdata(), [12.5]) and np.allclose(star.get_ydata(), [0.05])
    assert ax.get_xlim()[1] >= 12.5 > history["epoch"][-1]  # the axis reaches the tail-off
    assert not any("layer 2: predicted" in label for label in lines)  # no prediction, none drawn
    assert "layer 1 (the book's w^2, 8 -> 5): RMS" in lines  # the shape, from the settings


def test_norm_budget_marks_only_the_summarys_tailoffs_and_the_predicted_one():
    import wdecay as w

    records = [{"epoch": e, "layer1/rms": 1.0, "layer2/rms": 1.0,
                "layer1/R": [float("nan"), 0.0, 0.1, 0.6][e],
                "layer2/R": [float("nan"), -2.0, 1.0, 1.0][e],
                "layer1/tailoff_epoch": float("nan") if e < 3 else 3,
                "layer2/tailoff_epoch": float("nan") if e < 2 else 2} for e in range(4)]
    h = w.History(records=records)
    labels = [line.get_label() for line in plot.norm_budget(h).axes[0].get_lines()]
    assert "layer 1: R \u2265 0.5 from epoch 3" in labels  # without a summary: the fact only
    assert "layer 2: R \u2265 0.5 from epoch 2" in labels
    assert not any(x.startswith("layer") and "tail-off" in x for x in labels)
    # the summary: layer 1 tailed off at 3, layer 2 was never decay alone (no tail-off)
    fig = plot.norm_budget(h, summary=_summary([0.1, None], [9.0, None], measured=(3, None)))
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "layer 1: tail-off, R \u2265 0.5 from epoch 3" in labels
    assert not any(lab.startswith("layer 2: tail-off") or lab.startswith("layer 2: R") for lab in labels)
    assert "layer 1: predicted tail-off, epoch 9.0" in labels and ax.get_xlim()[1] >= 9


def _render(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def _visible_tick_labels(ax, renderer, axis="y"):
    lo, hi = sorted(ax.get_ylim() if axis == "y" else ax.get_xlim())
    ticks = ax.yaxis.get_major_ticks() + ax.yaxis.get_minor_ticks() if axis == "y" else \
        ax.xaxis.get_major_ticks() + ax.xaxis.get_minor_ticks()
    out = []
    for t in ticks:
        label = t.label1
        if label.get_visible() and label.get_text() and lo <= t.get_loc() <= hi:
            out.append((label.get_text(), label.get_window_extent(renderer)))
    return out


@pytest.mark.parametrize("values", [[0.995, 0.775], [1.003, 0.84, 0.9], [20.0, 1.5], [1e4, 0.5]])
def test_log_axis_tick_labels_never_overlap(values, tmp_path):
    """The overlay's log axis labelled 9x10^-1 beside 10^0; labels now are plain and apart."""
    import wdecay as w

    h = w.History(records=[{"epoch": i, "layer1/rms": v} for i, v in enumerate(values)])
    h2 = w.History(records=[{"epoch": i, "layer1/rms": v * 0.97} for i, v in enumerate(values)])
    fig = plot.overlay({"a": h, "b": h2}, "layer1/rms")
    labels = _visible_tick_labels(fig.axes[0], _render(fig))
    assert len(labels) >= 2, labels
    boxes = sorted((b for _, b in labels), key=lambda b: b.y0)
    for a, b in zip(boxes, boxes[1:]):
        assert a.y1 <= b.y0 + 0.5, [t for t, _ in labels]
    if max(values) / min(values) < 10:
        assert all("10^" not in t and "\\times" not in t for t, _ in labels)


def test_sum_vs_abs_uses_a_log_scale_so_the_signed_sum_is_not_flat(history):
    fig = plot.sum_vs_abs(history)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "\u03a3|w|" in labels and "|\u03a3w|" in labels
    lo, hi = ax.get_ylim()
    signed = np.abs(history["layer1/sum"])
    assert lo <= signed[signed > 0].min() and hi >= history["layer1/abs_sum"].max()


def test_norm_budget_explains_R_and_keeps_outliers_off_the_scale():
    import wdecay as w

    R = [float("nan"), -2.76, 1.06, 1.38]
    h = w.History(records=[{"epoch": e, "layer1/rms": 1.0, "layer1/R": 0.001 * e,
                            "layer2/rms": 1.0, "layer2/R": r, "layer1/tailoff_epoch": float("nan"),
                            "layer2/tailoff_epoch": 2.0} for e, r in enumerate(R)])
    fig = plot.norm_budget(h)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert -1.2 < lo < -0.9 and 1.38 < hi < 1.6  # R = -2.76 does not squash the curves
    texts = [t.get_text() for t in ax.texts]
    assert any("\u22122.76" in t and "off scale" in t for t in texts)
    caption = fig.get_supxlabel()
    assert "R = (G + Q)/(\u2212D)" in caption and "balance" in caption and "R < 0" in caption


def test_norm_budget_without_decay_says_so(tmp_path):
    import wdecay as w

    h = w.History(records=[{"epoch": e, "layer1/rms": 1.0, "layer1/R": float("nan"),
                            "layer1/tailoff_epoch": float("nan")} for e in range(3)])
    fig = plot.norm_budget(h, path=tmp_path / "n.png")
    ax = fig.axes[0]
    assert ax.get_legend() is None and ax.get_lines() == []
    assert any("no decay in this run" in t.get_text() for t in ax.texts)
    check_png(tmp_path / "n.png", fig)


def test_layer_norms_without_decay_draws_no_prediction():
    import wdecay as w

    h = w.History(records=[{"epoch": e, "layer1/rms": 1.0 + 0.01 * e, "layer1/predicted_rms": 1.0,
                            "layer1/R": float("nan")} for e in range(3)])
    fig = plot.layer_norms(h)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["layer 1 (the book's w^2): RMS"] and "no decay" in fig.axes[0].get_title()
    assert not plot.has_decay(h)


def test_plateau_reference_levels_are_told_apart():
    """docs/figures/tailoff.png drew 1/sqrt(n_in) and 1/sqrt(E|x|^2) in the same grey dotted style."""
    refs = {"1/sqrt(N)": 0.0065, "1/sqrt(n_in)": 0.036, "1/sqrt(E|x|^2)": 0.107}
    fig = plot.plateau([1.25e-3, 2.5e-3, 5e-3, 1e-2, 2e-2], [0.1, 0.08, 0.063, 0.05, 0.038], refs)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    from matplotlib.colors import to_hex

    assert len({to_hex(lines[n].get_color()) for n in refs}) == 3
    assert to_hex(lines["first-layer plateau RMS"].get_color()) not in {to_hex(lines[n].get_color())
                                                                        for n in refs}
    labels = _visible_tick_labels(fig.axes[0], _render(fig), axis="x")
    assert len(labels) >= 3  # lmbda/n spans 16x: more than one labelled tick


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
        if tag == "pre" and attrs.get("class") == "summary":
            self.sections += 1
        if tag == "table":
            self.tables += 1


@pytest.mark.slow  # eight plots of four runs (about 5-10 s)
def test_experiment_report_holds_every_plot_and_the_summary(tmp_path, capsys):
    from wdecay.cli import main

    small = ["--sizes", "784", "5", "10", "--quiet"]
    assert main(["experiment", "--epochs", "2", "--lmbda", "5", "20", "--out", str(tmp_path),
                 *small]) == 0
    assert main(["experiment", "--epochs", "1", "--seeds", "0", "1", "--out", str(tmp_path / "s"),
                 "--no-plot", *small]) == 0
    assert (tmp_path / "s" / "lmbda=5_seed=1" / "summary.json").exists()
    parser = _Collector()
    parser.feed((tmp_path / "report.html").read_text())
    alts = [img["alt"] for img in parser.images]
    assert alts.count("layer_norms") == alts.count("norm_budget") == alts.count("sum_vs_abs") == 2
    assert "overlay_layer1_rms" in alts
    assert all(img["src"].startswith("data:image/png;base64,") for img in parser.images)
    # setup and final figures across runs, then per run its per-epoch and every-value tables
    assert parser.sections == 2 and parser.tables == 2 + 2 * 2
    for sub in ("lmbda=5", "lmbda=20"):
        for name in ("history.csv", "history.json", "summary.json", "model.json", "layer_norms.png"):
            assert (tmp_path / sub / name).exists()


@pytest.mark.slow  # solves the convex path on the real sample (about 20-50 s)
def test_path_command(tmp_path, capsys):
    from wdecay.cli import main

    assert main(["path", "--n-lmbdas", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sum w^2" in out and "Summary:" in out
    for name in ("path.json", "coefficient_paths.png", "path_norm.png", "path_costs.png"):
        assert (tmp_path / name).exists()
