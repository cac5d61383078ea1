"""report.html of a ``--predict`` run, as a student sees it: a headless-Chromium screenshot.

The run is tiny (20 inputs, 300 examples, 3 epochs) so that the prediction
takes about a second; lmbda = 20 gives both layers a predicted plateau and
tail-off epoch, the first one after the last trained epoch.
"""

import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from wdecay import cli, plot  # noqa: E402
from wdecay.datasets import DataSplits  # noqa: E402
from wdecay.history import History  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1200, 2400


def _digits(n, rng):
    y = np.arange(n) % 3
    X = rng.random((n, 20)) * 0.3
    X[np.arange(n), y] += 1.0
    return X, y


@pytest.fixture(scope="module")
def predicted_run(tmp_path_factory):
    rng = np.random.default_rng(0)
    splits = DataSplits(_digits(300, rng), _digits(60, rng), _digits(60, rng))
    out = tmp_path_factory.mktemp("predicted") / "run"
    mp = pytest.MonkeyPatch()
    mp.setattr(cli, "_load_dataset", lambda spec: (splits, "three toy digits"))
    try:
        code = cli.main(["experiment", "--sizes", "20", "8", "3", "--lmbda", "20", "--epochs",
                         "3", "--predict", "--quiet", "--out", str(out)])
    finally:
        mp.undo()
    assert code == 0
    return out


def test_the_prediction_is_in_the_summary_the_tables_and_the_plot(predicted_run):
    summary = json.loads((predicted_run / "summary.json").read_text())
    first = summary["layers"][0]
    plateau, t_star = first["predicted_plateau"], first["predicted_tailoff_epoch"]
    assert plateau > 0 and t_star > summary["epochs_run"]  # predicted after the last epoch
    page = (predicted_run / "report.html").read_text(encoding="utf-8")
    assert "predicted plateau" in page and "predicted tail-off epoch" in page  # table columns
    assert "predicted plateau, and a star at the predicted tail-off epoch" in page  # caption
    assert f"{plateau:.4f}"[:5] in page
    history = History.from_csv(predicted_run / "history.csv")
    fig = plot.layer_norms(history, summary=summary)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    level = lines[f"layer 1: predicted plateau {plateau:.4f}"]
    assert np.allclose(level.get_ydata(), plateau)
    star = lines[f"layer 1: predicted tail-off, epoch {t_star:.1f}"]
    assert np.allclose(star.get_xdata(), [t_star]) and np.allclose(star.get_ydata(), [plateau])
    assert ax.get_xlim()[1] >= t_star  # the axis reaches the predicted tail-off


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", head[:8]
    return struct.unpack(">II", head[16:24])


@pytest.mark.skipif(not os.path.exists(CHROMIUM),
                    reason="no /usr/bin/chromium (apt-get install chromium): no screenshot")
def test_screenshot_of_the_report_shows_the_plots(predicted_run, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", "--hide-scrollbars",
           f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
           f"file://{predicted_run / 'report.html'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    assert _png_size(shot) == (WIDTH, HEIGHT)
    pixels = imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    # matplotlib's first two colours (layer 1 and layer 2) are on screen: the plots rendered
    for rgb in ((0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)):
        close = np.abs(pixels - np.array(rgb) / 255).max(axis=-1) < 0.03
        assert close.sum() > 200, rgb
    keep = os.environ.get("WDECAY_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
