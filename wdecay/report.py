"""Files of an experiment: history, summary, model, PNG plots and one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import json
import math
import os

from ._files import atomic_write
from .serialization import save

TABLE_KEYS = ("rms", "l1", "sum", "var", "R")


def make_plots(history, folder):
    """Write the per-run plots into ``folder``; return ``{name: path}`` (empty without matplotlib)."""
    try:
        from . import plot
        paths = {}
        for name, fn in (("layer_norms", plot.layer_norms), ("sum_vs_abs", plot.sum_vs_abs),
                         ("norm_budget", plot.norm_budget)):
            paths[name] = os.path.join(folder, f"{name}.png")
            fn(history, path=paths[name])
        return paths
    except ImportError:
        return {}


def write_run(folder, net, history, summary, plots=True):
    """history.csv (already streamed), history.json, summary.json, model.json and plots."""
    os.makedirs(folder, exist_ok=True)
    history.to_json(os.path.join(folder, "history.json"))
    atomic_write(os.path.join(folder, "summary.json"),
                 json.dumps(summary, indent=1, default=_json_default).encode())
    save(net, os.path.join(folder, "model.json"))
    return make_plots(history, folder) if plots else {}


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _data_uri(path):
    with open(path, "rb") as fh:
        return "data:image/png;base64," + base64.b64encode(fh.read()).decode()


def _table(history):
    layers = sorted({k.split("/")[0] for k in history.keys if k.startswith("layer") and k.endswith("/rms")})
    head = "<tr><th>epoch</th><th>eval accuracy</th>" + "".join(
        f"<th>{l} {k}</th>" for l in layers for k in TABLE_KEYS) + "</tr>"
    rows = []
    for r in history:
        cells = [str(r["epoch"]), _fmt(r.get("eval/accuracy"))]
        cells += [_fmt(r.get(f"{l}/{k}")) for l in layers for k in TABLE_KEYS]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _fmt(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "pre{background:#f6f6f6;padding:1em;white-space:pre-wrap}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;"
         "text-align:right}img{max-width:100%;border:1px solid #eee;margin:.5em 0}")


def write_html(path, runs, overlay_plots=None):
    """One page: per run the summary, its plots as data URIs and its per-epoch table.

    ``runs`` is a list of ``(title, summary_text, plot_paths, history)``.
    """
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>wdecay report</title>"
             f"<style>{STYLE}</style></head><body><h1>wdecay: what weight decay did</h1>"]
    if overlay_plots:
        parts.append("<h2>All runs</h2>")
    for name, plot_path in (overlay_plots or {}).items():
        parts.append(f"<img alt='{html.escape(name)}' src='{_data_uri(plot_path)}'>")
    for title, text, plot_paths, history in runs:
        parts.append(f"<h2>{html.escape(title)}</h2><section class='summary'><pre>"
                     f"{html.escape(text)}</pre></section>")
        for name, plot_path in plot_paths.items():
            parts.append(f"<img alt='{html.escape(name)}' src='{_data_uri(plot_path)}'>")
        parts.append(f"<h3>Per epoch</h3>{_table(history)}")
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts).encode())
