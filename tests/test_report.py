"""report.py: the run's files, stale plots, strict JSON, and an escaped, self-contained report.html.

The page is also opened in a real headless browser (Debian's ``chromium``),
skipped with the reason where it is absent.
"""

import html.parser
import json
import math
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import wdecay
from wdecay import experiment as E
from wdecay.summary import summary_text
from wdecay.history import History
from wdecay.report import (RUN_PLOTS, column_format, write_html, write_overlays, write_path_html,
                           write_run)

XSS_KEY = "<img src=x onerror=alert(1)>"
XSS_VALUE = "<script>alert(2)</script>"


def _splits(seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.random((80, 8)), rng.integers(0, 3, 80)
    return (X[:60], y[:60]), (X[60:70], y[60:70]), (X[70:], y[70:])


def _run(lmbda=5.0, epochs=2, regularizer="l2"):
    settings = dict(sizes=[8, 5, 3], lmbda=lmbda, epochs=epochs, batch_size=6, eta=0.5,
                    regularizer=regularizer, seed=0, dataset="random")
    net, history, summary = E.run(_splits(), settings, table=False)
    return net, history, summary


@pytest.fixture(scope="module")
def runs():
    """Two real runs (lmbda 0 and 5) as the CLI hands them to write_html, without plots."""
    out = []
    for lmbda in (0.0, 5.0):
        net, history, summary = _run(lmbda)
        out.append({"title": f"lmbda={lmbda:g}", "summary_text": summary_text(summary),
                    "summary": summary, "plots": {}, "history": history, "net": net})
    return out


class Page(html.parser.HTMLParser):
    """Tags with their attributes, the text, and every table as rows of (tag, text) cells."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.text, self.tables = [], [], []
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = [tag, "", int(dict(attrs).get("colspan", 1))]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(tuple(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[1] += data

    def tag_names(self):
        return [t for t, _ in self.tags]


def _page(tmp_path, runs, overlays=None):
    path = tmp_path / "report.html"
    write_html(path, runs, overlays)
    return path, Page(path.read_text(encoding="utf-8"))


# -- files of a run ---------------------------------------------------------------------

def test_summary_json_is_strict_with_null_for_nan(tmp_path, runs):
    run = runs[0]  # lmbda = 0: R and the tail-off epoch are NaN
    write_run(tmp_path, run["net"], run["history"], run["summary"], plots=False)
    text = (tmp_path / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary.json"))
    assert data["layers"][0]["R_final"] is None
    assert math.isnan(run["summary"]["layers"][0]["R_final"])
    assert data["settings"]["lmbda"] == 0.0


def test_no_plot_rerun_removes_only_the_stale_plots_of_wdecay(tmp_path, runs):
    for name in RUN_PLOTS:
        (tmp_path / f"{name}.png").write_bytes(b"old")
    (tmp_path / "mine.png").write_bytes(b"user's file")
    run = runs[1]
    assert write_run(tmp_path, run["net"], run["history"], run["summary"], plots=False) == {}
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["mine.png"]
    for name in ("history.json", "summary.json", "model.json"):
        assert (tmp_path / name).exists()


def test_overlays_stale_ones_are_removed(tmp_path, runs):
    for name in ("overlay_layer1_rms.png", "overlay_layer2_rms.png"):
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "overlay_mine.png").write_bytes(b"user's file")
    histories = {r["title"]: r["history"] for r in runs}
    assert write_overlays(tmp_path, histories, ["layer1/rms"], plots=False) == {}
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["overlay_mine.png"]
    with pytest.raises(ValueError, match="`keys` must look like 'layer1/rms'"):
        write_overlays(tmp_path, histories, ["../evil"], plots=True)


def test_plots_are_written_and_listed(tmp_path, runs):
    pytest.importorskip("matplotlib")
    run = runs[1]
    paths = write_run(tmp_path, run["net"], run["history"], run["summary"])
    assert sorted(paths) == sorted(RUN_PLOTS)
    assert all(os.path.getsize(p) > 1000 for p in paths.values())
    histories = {r["title"]: r["history"] for r in runs}
    overlays = write_overlays(tmp_path, histories, ["layer1/rms", "layer2/rms"])
    assert sorted(overlays) == ["overlay_layer1_rms", "overlay_layer2_rms"]
    assert all(os.path.exists(p) for p in overlays.values())


# -- the page -----------------------------------------------------------------------------

def test_every_key_value_title_and_text_is_escaped(tmp_path):
    records = [{"epoch": e, "layer1/rms": 1.0 - 0.1 * e, XSS_KEY: XSS_VALUE,
                f"layer1/{XSS_KEY}": 1.5, "note": "a & b"} for e in range(2)]
    history = History(records=records)
    _, page = _page(tmp_path, [{"title": "<b onmouseover=alert(3)>t</b>",
                                "summary_text": "</pre><script>alert(4)</script>",
                                "summary": {"settings": {"dataset": "<i>d</i>", "sizes": [2, 1]}},
                                "plots": {}, "history": history}])
    assert "script" not in page.tag_names() and "b" not in page.tag_names()
    assert "i" not in page.tag_names()
    assert [a for _, a in page.tags if "src" in a] == []  # the only images are plots, none here
    assert not any(k.startswith("on") for _, a in page.tags for k in a)
    text = "".join(page.text)
    for shown in (XSS_KEY, XSS_VALUE, "<b onmouseover=alert(3)>t</b>", "<script>alert(4)</script>",
                  "<i>d</i>", "a & b", f"layer1/{XSS_KEY}"):
        assert shown in text  # shown to the reader as text, not dropped


def test_setup_states_every_setting_and_the_version(tmp_path, runs):
    _, page = _page(tmp_path, runs[1:])
    setup = page.tables[0]
    header = [c[1] for c in setup[0]]
    row = dict(zip(header, [c[1] for c in setup[1]]))
    s = runs[1]["summary"]["settings"]
    assert row["architecture"] == "8 \u2192 5 \u2192 3"
    assert row["data set"] == "random" and row["n (training examples)"] == "60"
    assert row["initializer"] == s["init"] and row["cost"] == s["cost"]
    assert row["regularizer"] == "L2" and float(row["lmbda"]) == 5.0
    assert float(row["lmbda/n"]) == pytest.approx(5.0 / 60, rel=1e-3)
    assert float(row["lmbda/n over the book's 1e-4"]) == pytest.approx(5.0 / 60 / 1e-4, rel=1e-3)
    assert float(row["eta"]) == 0.5 and row["batch size"] == "6" and row["epochs"] == "2"
    assert row["seed"] == "0"
    assert ("optimizer" not in header) if "optimizer" not in s else row["optimizer"] == s["optimizer"]
    assert f"wdecay {wdecay.__version__}" in "".join(page.text)


def test_optimizer_is_shown_when_the_settings_name_one(tmp_path, runs):
    run = dict(runs[1], summary={**runs[1]["summary"],
                                 "settings": {**runs[1]["summary"]["settings"], "optimizer": "sgd"}})
    _, page = _page(tmp_path, [run])
    header = [c[1] for c in page.tables[0][0]]
    assert header[-1] == "optimizer" and page.tables[0][1][-1][1] == "sgd"


def _numeric_columns(table, header_rows=2):
    body = table[header_rows:]
    for i in range(1, len(body[0])):
        cells = [row[i][1] for row in body if row[i][1] != "n/a"]
        if cells and all(re.fullmatch(r"-?\d+(\.\d+)?(e[-+]\d+)?", c) for c in cells):
            yield i, cells


def _shape(cell):
    decimals = len(cell.split(".")[1].split("e")[0]) if "." in cell else 0
    return decimals, "e" in cell


def test_column_names_say_what_they_are_and_share_one_format(tmp_path, runs):
    _, page = _page(tmp_path, runs)
    final = page.tables[1]
    names = [c[1] for c in final[1]]
    for expected in ("RMS", "\u03a3|w|", "\u03a3w", "variance", "R = (G+Q)/(\u2212D)", "test",
                     "validation"):
        assert expected in names
    assert [c[1] for c in final[0] if c[1].startswith("layer")] == [
        "layer 1 (the book's w^2, 8 -> 5)", "layer 2 (the book's w^3, 5 -> 3)"]  # both names
    epoch_table = page.tables[2]
    assert [c[1] for c in epoch_table[0] if c[1].startswith("layer")] == [
        "layer 1 (the book's w^2, 8 -> 5)", "layer 2 (the book's w^3, 5 -> 3)"]
    assert "\u03ba" in [c[1] for c in epoch_table[1]] and "\u03ba" in names  # kappa columns
    text = "".join(page.text)
    assert text.count("R = (G + Q)/(-D)") == 1 and "Definitions" in text  # once per page
    all_headers = [c[1] for t in page.tables for row in t for c in row if c[0] == "th"]
    assert not any(re.fullmatch(r"layer\d+ \w+", h) for h in all_headers)
    checked = 0
    for table in page.tables[1:3]:  # final figures and the first run's per-epoch table
        for i, cells in _numeric_columns(table):
            assert len({_shape(c) for c in cells}) == 1, (i, cells)
            checked += 1
    assert checked >= 10


def test_column_format_is_shared():
    f = column_format([1234.5, 0.5])
    assert (f(1234.5), f(0.5)) == ("1234", "0")  # four significant digits of the largest
    f = column_format([2.5e-4, 1e-5])
    assert (f(2.5e-4), f(1e-5)) == ("2.500e-04", "1.000e-05")
    assert column_format([0.1], kind="accuracy")(0.1) == "0.1000"
    assert column_format([np.float64(3.0)], kind="int")(np.float64(3.0)) == "3"
    assert column_format(["<x>"])("<x>") == "&lt;x&gt;"


def test_several_runs_get_one_table_with_a_row_per_run(tmp_path, runs):
    _, page = _page(tmp_path, runs)
    final = page.tables[1]
    assert [row[0][1] for row in final[2:]] == ["lmbda=0", "lmbda=5"]
    rms_col = [c[1] for c in final[1]].index("RMS")
    finals = [float(row[rms_col][1]) for row in final[2:]]
    expected = [r["history"]["layer1/rms"][-1] for r in runs]
    np.testing.assert_allclose(finals, expected, rtol=1e-3)
    assert finals[1] < finals[0]  # decay shrank layer 1
    R_col = [c[1] for c in final[1]].index("R = (G+Q)/(\u2212D)")
    assert final[2][R_col][1] == "n/a"  # no decay, no R
    tail_col = [c[1] for c in final[1]].index("tail-off epoch")  # the summary's, layer 1
    for row, run in zip(final[2:], runs):
        tail = run["summary"]["layers"][0]["tailoff_epoch"]
        assert row[tail_col][1] == ("n/a" if math.isnan(tail) else f"{tail:.0f}")


def test_old_tuple_form_still_works(tmp_path, runs):
    r = runs[1]
    _, page = _page(tmp_path, [(r["title"], r["summary_text"], {}, r["history"])])
    assert "lmbda=5" in "".join(page.text)
    with pytest.raises(TypeError, match="`runs` must hold dicts"):
        write_html(tmp_path / "x.html", ["nonsense"])


# -- in a real browser --------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                    "(apt-get install chromium) : the report is not opened in a browser")

PROBE = """<script>
var violations = [];
document.addEventListener('securitypolicyviolation', function (e) { violations.push(e.blockedURI); });
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = {images: imgs.map(function (i) { return [i.alt, i.complete && i.naturalWidth > 0]; }),
             resources: performance.getEntriesByType('resource').map(function (e) { return e.name; }),
             violations: violations, h1: document.querySelector('h1').textContent,
             tables: document.querySelectorAll('table').length};
  var pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""


def _browse(path, *extra):
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=3000",
           *extra, f"file://{path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _probe(page_path, tmp_path):
    """A copy of the page whose only change is a script reporting images, requests and CSP."""
    text = page_path.read_text(encoding="utf-8")
    csp = re.search(r"content=\"(default-src[^\"]*)\"", text).group(1)
    text = text.replace(csp, csp + "; script-src 'unsafe-inline'")
    text = text.replace("<title>", PROBE + "<title>", 1)
    copy = tmp_path / "probe.html"
    copy.write_text(text, encoding="utf-8")
    dom = _browse(copy, "--dump-dom")
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.slow
@needs_chromium
def test_report_renders_in_chromium_with_every_image_and_no_request(tmp_path, runs):
    pytest.importorskip("matplotlib")
    histories = {r["title"]: r["history"] for r in runs}
    with_plots = []
    for i, r in enumerate(runs):
        folder = tmp_path / f"run{i}"
        plots = write_run(folder, r["net"], r["history"], r["summary"])
        with_plots.append({**r, "plots": plots})
    overlays = write_overlays(tmp_path, histories, ["layer1/rms", "layer2/rms"])
    history = runs[1]["history"]
    xss = History(records=[{**rec, XSS_KEY: XSS_VALUE} for rec in history])
    with_plots.append({**with_plots[1], "title": "<img src=x onerror=alert(1)>", "history": xss})
    page, parsed = _page(tmp_path, with_plots, overlays)

    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page.read_text())
    dom = _browse(page, "--dump-dom")  # the page itself renders
    assert "wdecay: what weight decay did" in dom and dom.count("<table") == len(parsed.tables)
    result = _probe(page, tmp_path)
    assert result["h1"] == "wdecay: what weight decay did"
    images = result["images"]
    assert len(images) == 3 * 3 + 2  # three plots per run, two overlays; no injected <img>
    assert all(loaded for _, loaded in images), images
    assert result["resources"] == [] and result["violations"] == []


@needs_chromium
def test_browser_probe_sees_a_request_and_a_broken_image(tmp_path):
    """The check above can fail: a page that asks the network is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
                    "content=\"default-src 'none'; img-src data:\"><title>t</title></head><body>"
                    "<h1>x</h1><img alt='remote' src='http://example.invalid/a.png'></body></html>")
    result = _probe(page, tmp_path)
    assert result["images"] == [["remote", False]]
    assert result["violations"] == ["http://example.invalid/a.png"]


# -- the regularization path's page ---------------------------------------------------------

@pytest.fixture(scope="module")
def path_result():
    from wdecay.convex import regularization_path

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), (np.arange(40) % 2).astype(float)[:, None]
    return regularization_path(X, y, model="logistic", n_lmbdas=5, evaluation_data=(X, y))


def _path_rows(result):
    return [{"lmbda": float(l), "sum_w2": float(w2), "sum_abs_w": float(w1), "train_cost": float(c),
             "eval_accuracy": float(a), XSS_KEY: XSS_VALUE}
            for l, w2, w1, c, a in zip(result.lmbdas, result.l2_norm2, result.l1_norm,
                                       result.train_cost, result.eval_accuracy)]


def test_path_page_names_columns_formats_them_and_escapes(tmp_path, path_result):
    page = tmp_path / "report.html"
    write_path_html(page, _path_rows(path_result), {"data": "<i>random</i>", "n": 40,
                                                    "penalty": "L2"}, text="a < b")
    parsed = Page(page.read_text(encoding="utf-8"))
    assert "script" not in parsed.tag_names() and "i" not in parsed.tag_names()
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)
    setup, table = parsed.tables
    assert [c[1] for row in setup for c in row] == ["data", "<i>random</i>", "n", "40", "penalty", "L2"]
    assert [c[1] for c in table[0]] == ["lmbda", "\u03a3w\u00b2", "\u03a3|w|", "training C0",
                                        "evaluation accuracy", XSS_KEY]
    assert len(table) == 1 + len(path_result.lmbdas)
    for i, cells in _numeric_columns(table, header_rows=1):
        assert len({_shape(c) for c in cells}) == 1, (i, cells)
    assert {row[-1][1] for row in table[1:]} == {XSS_VALUE}
    assert "a < b" in "".join(parsed.text)


@needs_chromium
def test_path_page_renders_in_chromium_with_every_image(tmp_path, path_result):
    pytest.importorskip("matplotlib")
    from wdecay import plot

    plots = {}
    for name in ("coefficient_paths", "path_norm", "path_costs"):
        plots[name] = tmp_path / f"{name}.png"
        getattr(plot, name)(path_result, path=plots[name])
    page = tmp_path / "report.html"
    write_path_html(page, _path_rows(path_result), {"penalty": "L2"}, plots)
    result = _probe(page, tmp_path)
    assert result["h1"].startswith("wdecay path")
    assert [alt for alt, loaded in result["images"] if loaded] == list(plots)
    assert result["resources"] == [] and result["violations"] == [] and result["tables"] == 2
