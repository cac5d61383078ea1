"""Files of an experiment: history, summary, model, PNG plots and one self-contained HTML page.

:func:`write_run` writes one run's files into its folder, :func:`write_overlays`
the plots that compare runs, and :func:`write_html` the page that shows them
all: the setup of every run, a table of final figures across runs, the
plots (inlined as data URIs, so the page makes no request) and per run the
summary and every recorded value. Everything that comes from a run (titles,
monitor keys and values, summary text) is HTML-escaped.

Examples
--------
>>> import tempfile, os, wdecay
>>> h = wdecay.History(records=[{"epoch": 0, "layer1/rms": 1.0}, {"epoch": 1, "layer1/rms": 0.5}])
>>> folder = tempfile.mkdtemp()
>>> write_html(os.path.join(folder, "report.html"),
...            [{"title": "<b>run</b>", "summary_text": "a < b", "summary": None,
...              "plots": {}, "history": h}])
>>> page = open(os.path.join(folder, "report.html"), encoding="utf-8").read()
>>> "&lt;b&gt;run&lt;/b&gt;" in page and "<b>run</b>" not in page
True
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import os
import re

from ._files import atomic_write
from ._json import dumps
from .serialization import save

BOOK_LMBDA, BOOK_N = 5.0, 50_000
"""The book's chapter 3 experiment: L2 lmbda = 5 on MNIST's n = 50,000 training images."""
BOOK_LMBDA_OVER_N = BOOK_LMBDA / BOOK_N

RUN_PLOTS = ("layer_norms", "sum_vs_abs", "norm_budget")
"""The PNGs :func:`write_run` writes into a run's folder, as ``NAME.png``."""

OVERLAY_FILE = re.compile(r"overlay_layer\d+_[A-Za-z0-9_]+\.png")
"""File names of the comparison plots :func:`write_overlays` writes."""

CAPTIONS = {
    "layer_norms": "Weight RMS per layer (log scale). Dashed, a different dash and marker per "
                   "layer: what decay alone would give (the RMS times the decay factor per step); "
                   "black dotted: the exercise's 1/sqrt(N). With --predict, dash-dotted: each "
                   "layer's predicted plateau, and a star at the predicted tail-off epoch.",
    "sum_vs_abs": "\u03a3|w| against |\u03a3w| per layer, log scale. The signed sum cancels: it says "
                  "nothing about the size of the weights. norm(W, 1) is numpy's induced 1-norm, the "
                  "largest column sum of |w|, not \u03a3|w|.",
    "norm_budget": "R = (G + Q)/(\u2212D) per layer: the change of the squared norm caused by the "
                   "gradient steps (G + Q) against the shrinkage caused by decay (D < 0). R \u2248 0 "
                   "while decay alone sets the norm, R = 1 at balance, R > 1 when the gradient grows "
                   "the layer, R < 0 when it shrinks it too. Decay has tailed off once R reaches 0.5.",
}

LAYER_COLUMNS = (("rms", "RMS"), ("abs_sum", "\u03a3|w|"), ("sum", "\u03a3w"), ("var", "variance"),
                 ("R", "R = (G+Q)/(\u2212D)"), ("kappa", "\u03ba"))
"""Per-layer quantities of the tables: (history key after ``layerN/``, column name)."""


# -- files of one run -----------------------------------------------------------

def make_plots(history, folder, summary=None):
    """Write the per-run plots into ``folder``; return ``{name: path}`` (empty without matplotlib).

    With the run's ``summary``, layers carry both names and a ``--predict``
    run's predicted plateau and tail-off epoch are drawn.
    """
    try:
        from . import plot

        paths = {}
        for name in RUN_PLOTS:
            paths[name] = os.path.join(folder, f"{name}.png")
            getattr(plot, name)(history, path=paths[name], summary=summary)
        return paths
    except ImportError:
        return {}


def _remove(folder, names):
    removed = []
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            os.unlink(path)
            removed.append(path)
    return removed


def write_run(folder, net, history, summary, plots=True):
    """Write a run's history.json, summary.json, model.json and plots; return ``{name: png path}``.

    ``history.csv`` was streamed during training. JSON is strict: NaN and
    infinities are written as ``null``. With ``plots=False`` (or without
    matplotlib) no PNG is written and the run's PNGs that an earlier run left
    in ``folder`` (``layer_norms.png``, ``sum_vs_abs.png``, ``norm_budget.png``)
    are removed, so the folder never shows plots of another run.
    """
    os.makedirs(folder, exist_ok=True)
    history.to_json(os.path.join(folder, "history.json"))
    atomic_write(os.path.join(folder, "summary.json"), dumps(summary, indent=1).encode())
    save(net, os.path.join(folder, "model.json"))
    paths = make_plots(history, folder, summary) if plots else {}
    _remove(folder, [f"{name}.png" for name in RUN_PLOTS if name not in paths])
    return paths


def write_overlays(folder, histories, keys, plots=True):
    """Plots that compare runs: one PNG per key, one curve per run; return ``{name: path}``.

    ``histories`` maps a run's title to its History; ``keys`` are history keys
    of the form ``layerN/quantity`` (e.g. ``"layer1/rms"``); each plot is
    ``overlay_layerN_quantity.png``. Comparison plots in ``folder`` that
    this call does not write (with ``plots=False``, without matplotlib or
    for other keys) are removed.
    """
    paths = {}
    if plots:
        try:
            from . import plot

            for key in keys:
                name = "overlay_" + key.replace("/", "_")
                if not OVERLAY_FILE.fullmatch(name + ".png"):
                    raise ValueError(f"`keys` must look like 'layer1/rms', got {key!r}")
                paths[name] = os.path.join(folder, name + ".png")
                plot.overlay(histories, key, path=paths[name])
        except ImportError:
            paths = {}
    written = {os.path.basename(p) for p in paths.values()}
    if os.path.isdir(folder):
        _remove(folder, sorted(f for f in os.listdir(folder)
                               if OVERLAY_FILE.fullmatch(f) and f not in written))
    return paths


# -- formatting -------------------------------------------------------------------

def _esc(value):
    return html.escape(str(value), quote=True)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _missing(value):
    return value is None or (_is_number(value) and not math.isfinite(float(value)))


def column_format(values, kind="auto"):
    """A function that formats every value of one column alike.

    ``kind`` is ``"int"``, ``"accuracy"`` (4 decimals), ``"ratio"`` (3
    decimals, for R) or ``"auto"``: fixed
    decimals that give the column's largest magnitude 4 significant digits,
    or scientific notation with 4 digits when that magnitude is below 1e-3 or
    at least 1e6. Missing values (None, NaN) read ``n/a``; anything not a
    number is shown as text (escaped).

    Examples
    --------
    >>> f = column_format([14577.6, 230.25])
    >>> f(14577.6), f(230.25)
    ('14578', '230')
    >>> f = column_format([0.77498, 0.8945, float("nan")])
    >>> f(0.77498), f(float("nan"))
    ('0.7750', 'n/a')
    """
    finite = [abs(float(v)) for v in values if _is_number(v) and math.isfinite(float(v))]
    if kind == "int":
        spec = "{:.0f}"
    elif kind == "accuracy":
        spec = "{:.4f}"
    elif kind == "ratio":
        spec = "{:.3f}"
    elif not finite or max(finite) == 0:
        spec = "{:g}"
    elif max(finite) >= 1e6 or max(finite) < 1e-3:
        spec = "{:.3e}"
    else:
        decimals = min(6, max(0, 3 - math.floor(math.log10(max(finite)))))
        spec = "{:.%df}" % decimals

    def fmt(value):
        if _missing(value):
            return "n/a"
        if _is_number(value):
            return spec.format(float(value))
        return _esc(value)
    return fmt


def _table(head_rows, body, kinds, row_headers=True):
    """An HTML table; ``head_rows`` are lists of (label, colspan); ``body`` rows of raw values."""
    formats = [column_format([row[i] for row in body], kind) for i, kind in enumerate(kinds)]
    head = "".join("<tr>" + "".join(f"<th colspan='{span}'>{_esc(label)}</th>" if span > 1
                                    else f"<th>{_esc(label)}</th>" for label, span in row) + "</tr>"
                   for row in head_rows)
    rows = []
    for row in body:
        cells = [fmt(v) for fmt, v in zip(formats, row)]
        first = f"<th scope='row'>{cells[0]}</th>" if row_headers else f"<td>{cells[0]}</td>"
        rows.append("<tr>" + first + "".join(f"<td>{c}</td>" for c in cells[1:]) + "</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


# -- what the page shows ---------------------------------------------------------------

def _layers(history):
    found = {int(m.group(1)) for k in history.keys() if (m := re.fullmatch(r"layer(\d+)/rms", k))}
    return sorted(found)


def _last(history, key):
    for record in reversed(list(history)):
        if key in record:
            return record[key]
    return None


def _layer_key(history, l, key):
    """``layerN/abs_sum`` falls back to ``layerN/l1`` (both are sum |w|)."""
    if key == "abs_sum" and f"layer{l}/abs_sum" not in history:
        return f"layer{l}/l1"
    return f"layer{l}/{key}"


def _as_run(run):
    if isinstance(run, dict):
        missing = {"title", "history"} - set(run)
        if missing:
            raise ValueError("each of `runs` needs the keys title and history; "
                             f"missing {sorted(missing)}")
        return {"summary_text": "", "summary": None, "plots": {}, **run}
    if isinstance(run, (tuple, list)) and len(run) == 4:
        title, text, plots, history = run
        return {"title": title, "summary_text": text, "summary": None, "plots": plots or {},
                "history": history}
    raise TypeError("`runs` must hold dicts with keys title, summary_text, summary, plots and history "
                    f"(or (title, summary_text, plots, history) tuples), got {type(run).__name__}")


def _settings(run):
    summary = run["summary"] or {}
    return summary.get("settings") or {}


def _architecture(sizes):
    return " \u2192 ".join(str(s) for s in sizes) if sizes else None


def _setup_table(runs):
    with_optimizer = any("optimizer" in _settings(r) for r in runs)
    columns = [("run", "text"), ("architecture", "text"), ("data set", "text"),
               ("n (training examples)", "int"), ("initializer", "text"), ("cost", "text"),
               ("activation", "text"), ("regularizer", "text"), ("lmbda", "auto"),
               ("lmbda/n", "auto"), ("lmbda/n over the book's 1e-4", "auto"), ("eta", "auto"), ("batch size", "int"), ("epochs", "int"),
               ("seed", "int")]
    if with_optimizer:
        columns.append(("optimizer", "text"))
    body = []
    for run in runs:
        s = _settings(run)
        n, lmbda = s.get("n_train"), s.get("lmbda")
        regularizer = s.get("regularizer")
        row = [run["title"], _architecture(s.get("sizes")), s.get("dataset"), n, s.get("init"),
               s.get("cost"), s.get("activation"),
               regularizer.upper() if isinstance(regularizer, str) else regularizer, lmbda,
               lmbda / n if _is_number(lmbda) and _is_number(n) and n else None,
               lmbda / n / BOOK_LMBDA_OVER_N if _is_number(lmbda) and _is_number(n) and n else None,
               s.get("eta"),
               s.get("batch_size"), s.get("epochs"), s.get("seed")]
        if with_optimizer:
            row.append(s.get("optimizer"))
        body.append(row)
    return _table([[(name, 1) for name, _ in columns]], body, [kind for _, kind in columns])


def _kind(key):
    return {"tailoff_epoch": "int", "summary.tailoff_epoch": "int", "R": "ratio", "kappa": "ratio",
            "predicted_tailoff_epoch": "auto"}.get(key, "auto")


#: The per-layer columns of the table that compares runs: (key, column name, on the
#: terminal too). Keys are history keys after ``layerN/``, or the summary's
#: ``predicted_*`` (only when a run was made with ``--predict``).
FINAL_LAYER_COLUMNS = (("rms", "RMS", True), ("predicted_rms", "pure-decay RMS", False),
                       ("abs_sum", "\u03a3|w|", False), ("sum", "\u03a3w", False),
                       ("var", "variance", False), ("R", "R = (G+Q)/(\u2212D)", True),
                       ("kappa", "\u03ba", True),
                       ("tailoff_epoch", "first epoch R \u2265 0.5", True),
                       ("summary.tailoff_epoch", "tail-off epoch", True),
                       ("predicted_plateau", "predicted plateau", True),
                       ("predicted_tailoff_epoch", "predicted tail-off epoch", True))
PREDICTED = ("predicted_plateau", "predicted_tailoff_epoch")
FROM_SUMMARY = PREDICTED + ("summary.tailoff_epoch",)
"""Columns read from the summary's layers (``summary.KEY`` is the summary's ``KEY``), not the
history: the summary's tail-off ends a decay-alone phase, unlike the first epoch R >= 0.5."""


def _sizes_of(runs):
    for run in runs:
        sizes = _settings(run).get("sizes")
        if sizes:
            return list(sizes)
    return None


def layer_heading(l, sizes=None, names=None):
    """A layer's column heading: both names, ``"layer 1 (the book's w^2, 784 -> 30)"``.

    With ``names`` (a run's ``layer_names``, e.g. a torch run's tensor names), ``"layer 1 = fc1.weight"``.
    """
    from .plot import layer_name  # pure text; plot imports matplotlib only inside its functions

    return layer_name(l, sizes, names)


def final_figures(runs):
    """The final figures of ``runs`` side by side, one model for the page and the terminal.

    Returns ``(groups, columns, rows)``: ``groups`` the top heading as
    ``(label, span)`` pairs, ``columns`` one ``(name, kind, on_terminal)`` per
    column, and ``rows`` one list of raw values per run (title, test and
    validation accuracy, then per layer the :data:`FINAL_LAYER_COLUMNS`; the
    predicted ones only when some run holds a prediction).
    """
    runs = [_as_run(r) for r in runs]
    layers = sorted({l for r in runs for l in _layers(r["history"])})
    sizes = _sizes_of(runs)
    predicted = any(L.get(k) is not None for r in runs
                    for L in ((r["summary"] or {}).get("layers") or ()) for k in PREDICTED)
    per_layer = [c for c in FINAL_LAYER_COLUMNS if predicted or c[0] not in PREDICTED]
    names = next((r["layer_names"] for r in runs if r.get("layer_names")), None)
    groups = [("", 1), ("accuracy", 2)] + [(layer_heading(l, sizes, names), len(per_layer))
                                           for l in layers]
    columns = [("run", "text", True), ("test", "accuracy", True),
               ("validation", "accuracy", True)]
    columns += [(name, _kind(key), terminal) for l in layers for key, name, terminal in per_layer]
    rows = []
    for run in runs:
        h, summary = run["history"], run["summary"] or {}
        by_layer = {L.get("layer"): L for L in summary.get("layers") or ()}
        row = [run["title"], summary.get("test_accuracy"),
               summary.get("eval_accuracy_final", _last(h, "eval/accuracy"))]
        for l in layers:
            for key, _, _ in per_layer:
                row.append(by_layer.get(l, {}).get(key.removeprefix("summary."))
                           if key in FROM_SUMMARY else _last(h, _layer_key(h, l, key)))
        rows.append(row)
    return groups, columns, rows


def _final_table(runs):
    groups, columns, rows = final_figures(runs)
    return _table([groups, [(name, 1) for name, _, _ in columns]], rows,
                  [kind for _, kind, _ in columns])


TERMINAL_NAMES = {"validation": "valid.", "R = (G+Q)/(\u2212D)": "R", "\u03ba": "kappa",
                  "first epoch R \u2265 0.5": "R>=0.5", "tail-off epoch": "tail-off",
                  "predicted plateau": "pred. level",
                  "predicted tail-off epoch": "pred. t*"}


def final_figures_text(runs):
    """:func:`final_figures` as a plain-text table for the terminal (its main columns).

    Examples
    --------
    >>> import wdecay
    >>> h = wdecay.History(records=[{"epoch": 0, "layer1/rms": 1.0, "layer1/R": 0.25}])
    >>> print(final_figures_text([{"title": "lmbda=5", "history": h}]))
                            | layer 1 (the book's w^2)
    run      test  valid.   | RMS    R      kappa  R>=0.5  tail-off
    lmbda=5  n/a   n/a      | 1.000  0.250  n/a    n/a     n/a
    """
    groups, columns, rows = final_figures(runs)
    owner = [g for g, (_, span) in enumerate(groups) for _ in range(span)]
    keep = [i for i, c in enumerate(columns) if c[2]]
    formats = [column_format([r[i] for r in rows], columns[i][1]) for i in range(len(columns))]
    names = {i: TERMINAL_NAMES.get(columns[i][0], columns[i][0]) for i in keep}
    cells = [{i: html.unescape(formats[i](r[i])) for i in keep} for r in rows]
    width = {i: max([len(names[i])] + [len(c[i]) for c in cells]) + 2 for i in keep}
    # the run and its accuracies are groups 0 and 1; each later group is one layer
    blocks = [[i for i in keep if owner[i] <= 1]] + [[i for i in keep if owner[i] == g]
                                                     for g in range(2, len(groups))]
    for g, block in enumerate(blocks[1:], 2):
        label = groups[g][0]
        extra = len(label) - sum(width[i] for i in block)
        if extra > 0:
            width[block[-1]] += extra

    def line(values):
        return " | ".join("".join(f"{values[i]:<{width[i]}}" for i in block)
                          for block in blocks).rstrip()

    top = " | ".join([" " * sum(width[i] for i in blocks[0])]
                     + [f"{groups[g][0]:<{sum(width[i] for i in block)}}"
                        for g, block in enumerate(blocks[1:], 2)])
    lines = [top.rstrip(), line(names)] + [line(c) for c in cells]
    return "\n".join(lines)


def _epoch_table(history, sizes=None, names=None):
    layers = _layers(history)
    top = [("", 1), ("", 1)] + [(layer_heading(l, sizes, names), len(LAYER_COLUMNS))
                                for l in layers]
    second = [("epoch", 1), ("validation accuracy", 1)] + [(name, 1) for l in layers
                                                          for _, name in LAYER_COLUMNS]
    kinds = ["int", "accuracy"] + [_kind(key) for l in layers for key, _ in LAYER_COLUMNS]
    body = [[r.get("epoch"), r.get("eval/accuracy")]
            + [r.get(_layer_key(history, l, key)) for l in layers for key, _ in LAYER_COLUMNS]
            for r in history]
    return _table([top, second], body, kinds)


def _records_table(history):
    """Every recorded key (custom monitors' too), one row per key, one column per epoch."""
    records = list(history)
    epochs = [r.get("epoch", i) for i, r in enumerate(records)]
    head = "<tr><th>key</th>" + "".join(f"<th>{_esc(e)}</th>" for e in epochs) + "</tr>"
    rows = []
    for key in history.keys():
        if key == "epoch":
            continue
        values = [r.get(key) for r in records]
        fmt = column_format(values)
        rows.append(f"<tr><th scope='row'>{_esc(key)}</th>"
                    + "".join(f"<td>{fmt(v)}</td>" for v in values) + "</tr>")
    return (f"<table class='records'><thead><tr><th></th><th colspan='{len(epochs)}'>epoch</th></tr>"
            f"{head}</thead><tbody>{''.join(rows)}</tbody></table>")


def _data_uri(path):
    with open(path, "rb") as fh:
        return "data:image/png;base64," + base64.b64encode(fh.read()).decode("ascii")


def _figure(name, path, captions=CAPTIONS):
    caption = captions.get(name)
    if caption is None and name.startswith("overlay_"):
        caption = "One curve per run: " + name[len("overlay_"):].replace("_", " ") + "."
    return (f"<figure><img alt='{_esc(name)}' src='{_data_uri(path)}'>"
            + (f"<figcaption>{_esc(caption)}</figcaption>" if caption else "") + "</figure>")


STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
         "pre{background:#f6f6f6;padding:1em;white-space:pre-wrap}"
         "table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}"
         "td,th{border:1px solid #ccc;padding:2px 6px}td{text-align:right;"
         "font-variant-numeric:tabular-nums;white-space:nowrap}th{background:#f3f3f3}"
         "tbody th{text-align:left;font-weight:normal}"
         ".scroll{overflow-x:auto}figure{margin:.5em 0 1em}figcaption{font-size:12px;color:#555;"
         "max-width:800px}img{max-width:100%;border:1px solid #eee}"
         "details{margin:.5em 0}summary{cursor:pointer}td.text{text-align:left}")


def _head(title):
    """Doctype, charset, a policy that forbids every request but inline data, the style."""
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            f"img-src data:; style-src 'unsafe-inline'\"><title>{_esc(title)}</title>"
            f"<style>{STYLE}</style></head><body>")


def _definitions(runs):
    """R, kappa, the tail-off notions, N and n, once per page (from the first run's summary)."""
    for run in runs:
        summary = run["summary"] or {}
        if "n_weights" in summary and "n_train" in (summary.get("settings") or {}):
            from .summary import definitions

            return definitions(summary)
    return None


def write_html(path, runs, overlay_plots=None):
    """Write one self-contained page about ``runs``: setup, final figures, plots and tables.

    The page states every run's setup (architecture, data set and n,
    lmbda/n against the book's,
    initializer, cost, activation, regularizer with lmbda and lmbda/n, eta,
    batch size, epochs, seed; the optimizer when the settings name one) and
    the wdecay version; one table gives the final figures of all runs side
    by side, with each layer named both ways and, after ``--predict``, the
    predicted plateau and tail-off epoch; the definitions of R, kappa and
    the tail-off notions follow once. PNGs are inlined as data URIs: the page requests nothing.
    Every title, key, value and text is HTML-escaped.

    Parameters
    ----------
    path : str
        The HTML file to write (atomically).
    runs : list of dict
        One dict per run with the keys ``title`` (str), ``summary_text``
        (str), ``summary`` (the dict of :func:`wdecay.summary.summarize`,
        whose settings give the setup, or None), ``plots`` (a dict of PNG
        paths by name) and ``history`` (a History). The older tuple form,
        ``(title, summary_text, plots, history)``, is accepted too.
    overlay_plots : dict, optional
        ``{name: png path}`` of plots that compare the runs.
    """
    from . import __version__

    runs = [_as_run(r) for r in runs]
    several = len(runs) > 1
    parts = [_head("wdecay report"), "<h1>wdecay: what weight decay did</h1>",
             f"<p class='version'>Written by wdecay {_esc(__version__)}; "
             f"{len(runs)} run{'s' if several else ''}.</p>",
             "<h2>Setup</h2><div class='scroll setup'>", _setup_table(runs), "</div>",
             "<h2>Final figures</h2><div class='scroll final'>", _final_table(runs), "</div>"]
    defined = _definitions(runs)
    if defined:
        parts.append(f"<h2>Definitions</h2><p class='definitions'>{_esc(defined)}</p>")
    if overlay_plots:
        parts.append("<h2>All runs</h2>")
        parts += [_figure(name, p) for name, p in overlay_plots.items()]
    for run in runs:
        parts.append(f"<section class='run'><h2>{_esc(run['title'])}</h2>")
        if run["summary_text"]:
            parts.append(f"<pre class='summary'>{_esc(run['summary_text'])}</pre>")
        parts += [_figure(name, p) for name, p in (run["plots"] or {}).items()]
        parts.append("<details" + ("" if several else " open") + "><summary>Per epoch</summary>"
                     f"<div class='scroll'>{_epoch_table(run['history'], _settings(run).get('sizes'), run.get('layer_names'))}"
                     "</div></details>")
        parts.append("<details><summary>Every recorded value</summary>"
                     f"<div class='scroll'>{_records_table(run['history'])}</div></details>")
        parts.append("</section>")
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts).encode("utf-8"))


PATH_COLUMNS = {"lmbda": ("lmbda", "auto"), "sum_w2": ("\u03a3w\u00b2", "auto"),
                "sum_abs_w": ("\u03a3|w|", "auto"), "train_cost": ("training C0", "auto"),
                "eval_cost": ("evaluation C0", "auto"),
                "eval_accuracy": ("evaluation accuracy", "accuracy"),
                "residual": ("residual", "auto")}
"""Column names and formats of the regularization-path table (``wdecay path``)."""

PATH_CAPTIONS = {
    "coefficient_paths": "Each weight of the exact optimum against lmbda (log scale).",
    "path_norm": "\u03a3w\u00b2 and \u03a3|w| of the exact optimum against lmbda: in the convex "
                 "case they never increase.",
    "path_costs": "Mean unregularized cost C0 of the optimum on the training and evaluation data.",
}


def write_path_html(path, rows, setup, plots=None, text=""):
    """Write one self-contained page about a regularization path (``wdecay path --out``).

    Parameters
    ----------
    path : str
        The HTML file to write (atomically).
    rows : list of dict
        One dict per lmbda; known keys (``lmbda``, ``sum_w2``, ``sum_abs_w``,
        ``train_cost``, ``eval_cost``, ``eval_accuracy``, ``residual``) get
        readable column names, any other key is shown as it is (escaped).
    setup : dict
        What was solved (data, classes, n, penalty, grid...): shown as a
        two-column table, names and values escaped.
    plots : dict, optional
        ``{name: png path}``, inlined as data URIs.
    text : str, optional
        A summary in sentences, shown before the table.

    Examples
    --------
    >>> import tempfile, os
    >>> page = os.path.join(tempfile.mkdtemp(), "report.html")
    >>> write_path_html(page, [{"lmbda": 1.0, "sum_w2": 2.5}], {"penalty": "L2 <b>"})
    >>> "L2 &lt;b&gt;" in open(page, encoding="utf-8").read()
    True
    """
    from . import __version__

    keys = list(dict.fromkeys(k for r in rows for k in r))
    head = [[(PATH_COLUMNS.get(k, (k, "auto"))[0], 1) for k in keys]]
    body = [[r.get(k) for k in keys] for r in rows]
    kinds = [PATH_COLUMNS.get(k, (k, "auto"))[1] for k in keys]
    setup_rows = "".join(f"<tr><th scope='row'>{_esc(k)}</th><td class='text'>{_esc(v)}</td></tr>"
                         for k, v in setup.items())
    figures = [_figure(name, png, PATH_CAPTIONS) for name, png in (plots or {}).items()]
    parts = [_head("wdecay path report"), "<h1>wdecay path: exact optima along lmbda</h1>",
             f"<p class='version'>Written by wdecay {_esc(__version__)}.</p>",
             f"<h2>Setup</h2><table><tbody>{setup_rows}</tbody></table>"]
    if text:
        parts.append(f"<pre class='summary'>{_esc(text)}</pre>")
    parts += figures
    parts += ["<h2>Along the path</h2><div class='scroll'>", _table(head, body, kinds), "</div>",
              "</body></html>"]
    atomic_write(path, "\n".join(parts).encode("utf-8"))
