"""A torch run's files: ``history.json`` and ``report.html`` beside the growing ``history.csv``.

The report is wdecay's own page (:func:`wdecay.report.write_html`): its tables
and plots read ``layerN/`` keys, so the page numbers the tensors 1, 2, ...
and its setup says which tensor each number is, with the model, the
optimizer and its groups. Summary sentences are only those that hold for the
optimizer used: measured figures, and for decayed tensors the prediction the
run recorded beside them; nothing for a tensor whose decay part is unknown.
"""

from __future__ import annotations

import math
import os
import tempfile

from ..history import History
from ..report import write_html


def layer_history(rec):
    """The run's history with ``{name}/key`` renamed ``layer{l}/key`` (l the tensor's number)."""
    names = {t.name: l for l, t in enumerate(rec.tensors, 1)}
    records = []
    for record in rec.history:
        out = {}
        for key, value in record.items():
            name, _, rest = key.rpartition("/")
            if name in names:
                key = f"layer{names[name]}/{rest}"
            out[key] = value
        records.append(out)
    return History(records=records)


def _fmt(x):
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def setup_text(rec):
    """The model, the optimizer with its groups, and which number each tensor has."""
    lines = [f"Model: {type(rec.model).__name__}", *("  " + s for s in repr(rec.model).splitlines()),
             f"Optimizer: torch.optim.{type(rec.optimizer).__name__}"]
    for g, group in enumerate(rec.optimizer.param_groups):
        settings = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
        lines.append(f"  group {g} ({len(group['params'])} tensors): {settings}")
    lines.append("Tensors (the report's layer numbers):")
    for l, (t, rule) in enumerate(zip(rec.tensors, rec.current_rules()), 1):
        lines.append(f"  layer {l} = {t.name} {tuple(t.param.shape)}: {rule.describe()}")
    return "\n".join(lines)


def summary_lines(rec):
    """Sentences true for this optimizer: measured RMS, and the recorded prediction beside it."""
    h = rec.history
    if len(h) < 2:
        return []
    last = int(h.last("epoch"))
    lines = [f"After epoch {last}:"]
    for t, rule in zip(rec.tensors, rec.current_rules()):
        rms0, rms = h[f"{t.name}/rms"][0], h.last(f"{t.name}/rms")
        line = f"  {t.name}: RMS {_fmt(rms0)} -> {_fmt(rms)}"
        if rule.kind == "unknown":
            line += "; the decay part is unknown for this optimizer, so no budget is given"
        elif rule.kind == "none":
            line += "; not decayed"
        else:
            if f"{t.name}/predicted_rms" in h:
                line += f"; pure decay predicts RMS {_fmt(h.last(f'{t.name}/predicted_rms'))}"
            if f"{t.name}/eq_rms" in h:
                line += (f"; rotational-equilibrium estimate {_fmt(h.last(f'{t.name}/eq_rms'))}"
                         f" (tau = {_fmt(h.last(f'{t.name}/tau_epochs'))} epochs)")
            if f"{t.name}/R" in h:
                line += f"; last epoch's R = (G + Q)/(-D) = {_fmt(h.last(f'{t.name}/R'))}"
        lines.append(line)
    return lines


def write_files(rec):
    """``history.json`` and ``report.html`` (with PNG plots if matplotlib is there) in ``rec.path``."""
    rec.history.to_json(os.path.join(rec.path, "history.json"))
    history = layer_history(rec)
    text = setup_text(rec) + "\n\n" + "\n".join(summary_lines(rec))
    names = {l: t.name for l, t in enumerate(rec.tensors, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        write_html(os.path.join(rec.path, "report.html"),
                   [{"title": rec.title, "summary_text": text, "summary": None,
                     "plots": _plots(rec, history, tmp, names), "history": history,
                     "layer_names": names}])


def _plots(rec, history, folder, names):
    """The run plots that hold for a torch history, as ``{name: png}`` (none without matplotlib).

    The norms plot is left out: its caption speaks of pure-decay and reference
    lines that a torch run does not record. R's plot only where some tensor's
    budget is known; a plot whose keys a run lacks is left out.
    """
    kinds = ["sum_vs_abs"]
    if any(r.kind not in ("unknown", "none") for r in rec.current_rules()):
        kinds.append("norm_budget")
    try:
        from .. import plot
    except ImportError:
        return {}
    paths = {}
    for name in kinds:
        path = os.path.join(folder, f"{name}.png")
        try:
            getattr(plot, name)(history, path=path, summary={"layer_names": names})
        except (ImportError, KeyError):
            continue
        paths[name] = path
    return paths
