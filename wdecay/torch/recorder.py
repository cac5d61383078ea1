"""``watch``: attach wdecay's monitors to a torch model and optimizer through step hooks."""

from __future__ import annotations

import math
import os
import re

import torch

from ..history import History
from ..monitors import (Accuracy, Balance, Cost, DecayPrediction, LayerStatistics, MonitorList,
                        NormBudget, Saturation, SumVsAbsSum, WeightNorms)
from ..monitors.base import Monitor
from .decomposition import Decomposer, Tensor, decay_rule
from .predict import adamw_equilibrium, adamw_timescale
from .state import TorchState, TorchStepParts

LAYER_KEY = re.compile(r"layer(\d+)/(.+)")
NEEDS_NETWORK = (DecayPrediction, Saturation, Balance, Accuracy, Cost)


def default_monitors():
    """WeightNorms, LayerStatistics, SumVsAbsSum and NormBudget: what works on any model."""
    return [WeightNorms(), LayerStatistics(), SumVsAbsSum(), NormBudget()]


def _rank():
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return 0


def _named(model):
    module = getattr(model, "module", None)  # DistributedDataParallel and DataParallel wrap it
    if isinstance(module, torch.nn.Module) and isinstance(
            model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
        model = module
    return model, list(model.named_parameters())


class Recorder:
    """Records wdecay's monitors on a torch model, one record per :meth:`epoch_end`.

    Made by :func:`watch`; see there. ``history`` is the :class:`wdecay.History`;
    ``tensors`` the watched parameters (``name``, ``param``, ``group``).
    """

    def __init__(self, model, optimizer, monitors=None, path=None, *, n=None, predictions=True,
                 mode="new", title=None):
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"`optimizer` must be a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.model, named = _named(model)
        self.optimizer = optimizer
        self.active = _rank() == 0  # only rank 0 records: a run is recorded once
        self.path = None if path is None else os.fspath(path)
        self.title = title or type(self.model).__name__
        self.predictions = bool(predictions)
        order = {id(p): (i, name) for i, (name, p) in enumerate(named)}
        tensors, extra = [], 0
        for g, group in enumerate(optimizer.param_groups):
            for p in group["params"]:
                if id(p) in order:
                    tensors.append((order[id(p)][0], order[id(p)][1], p, g))
                else:
                    tensors.append((len(order) + extra, f"param{extra}", p, g))
                    extra += 1
        tensors.sort(key=lambda x: x[0])
        self.tensors = [Tensor(name, p, g) for _, name, p, g in tensors]
        monitors = default_monitors() if monitors is None else monitors
        monitors = [monitors] if isinstance(monitors, Monitor) else list(monitors)
        for m in monitors:
            if isinstance(m, NEEDS_NETWORK):
                raise ValueError(f"{type(m).__name__} needs wdecay's own network (a forward "
                                 "pass or its data); on a torch model compute such values "
                                 "yourself and pass them to rec.epoch_end(values)")
            if isinstance(m, LayerStatistics) and m.biases:
                raise ValueError("LayerStatistics(biases=True) has no meaning on a torch model: "
                                 "every parameter (biases too) is a tensor of its own")
        self.monitors = MonitorList(monitors)
        numpy_batch = [m for m in self.monitors.batch_monitors if not isinstance(m, NormBudget)]
        self._numpy_batch = bool(numpy_batch)
        self.budget = any(isinstance(m, NormBudget) for m in self.monitors.monitors)
        self.per_step = self.budget or self._numpy_batch
        self.copies_weights = any(t.param.device.type != "cpu" for t in self.tensors)
        self.steps_per_epoch = 0
        self._steps = 0
        self._handles = []
        self._closed = False
        self._rms0 = [self._rms(t) for t in self.tensors]
        if not self.active:
            self.history = History()
            return
        if self.path is not None:
            os.makedirs(self.path, exist_ok=True)
            csv_path = os.path.join(self.path, "history.csv")
            try:
                self.history = History(path=csv_path, mode=mode)
            except FileExistsError:
                raise FileExistsError(f"{csv_path} exists; watch(..., mode='resume') continues "
                                      "it, mode='overwrite' replaces it") from None
        else:
            self.history = History()
        self.decomposer = Decomposer(optimizer, self.tensors, keep_parts=self._numpy_batch,
                                     budget=self.budget)
        self.state = TorchState(self, n=n)
        self.monitors.call("on_train_begin", self.state)
        self.first = int(self.history.last("epoch", -1)) + 1
        self.state.epoch = self.first
        values = self.monitors.call("on_epoch_end", self.state) if self.first == 0 else None
        if values is not None:
            self._append(0, values, {f"{t.name}/decay_rule": r.describe()
                                     for t, r in zip(self.tensors, self.current_rules())})
        self._begin(max(self.first, 1))
        self._handles = [optimizer.register_step_pre_hook(self._pre),
                         optimizer.register_step_post_hook(self._post)]

    # -- the engine side -----------------------------------------------------------
    def current_rules(self):
        """Each tensor's :class:`~wdecay.torch.decomposition.Rule` (this step's, or now's)."""
        rules = [decay_rule(self.optimizer, g) for g in range(len(self.optimizer.param_groups))]
        decomposer = getattr(self, "decomposer", None)  # it knows state from before watch
        return [t.rule if t.rule is not None else
                decomposer._rule(t, rules) if decomposer is not None else rules[t.group]
                for t in self.tensors]

    def _begin(self, epoch):
        self.state.epoch, self.state.batch = epoch, 0
        self.state.last_epoch = epoch
        self._steps = 0
        for t in self.tensors:
            t.reset()
        self.monitors.call("on_epoch_begin", self.state)

    def _pre(self, optimizer, args, kwargs):
        if self.per_step:
            self.decomposer.pre_step()
        else:
            self.decomposer.rules_only()

    def _post(self, optimizer, args, kwargs):
        self.decomposer.post_step()
        self.state.batch = self._steps
        self._steps += 1
        if self._numpy_batch:
            self.state.step = TorchStepParts(self.tensors)
            self.monitors.call_batch_end(self.state)
            self.state.step = None

    def budget_sums(self):
        """The epoch's (D, G, Q, measured) sums, rho sums, step count and last step, per tensor.

        What :class:`~wdecay.monitors.NormBudget` records on a torch model: it reads
        them here instead of summing numpy dot products per step.
        """
        sums = [t.totals()[:5] for t in self.tensors]
        return [row[:4] for row in sums], [row[4] for row in sums], self._steps

    # -- the user side ---------------------------------------------------------------
    def epoch_end(self, values=None, **more):
        """Record the epoch that just ended; ``values`` (a dict) and keywords are added to it.

        Returns the record. Pass your own loss or accuracy here (e.g.
        ``rec.epoch_end({"eval/accuracy": acc})``). On ranks other than 0 it records nothing.
        """
        if not self.active:
            return {}
        if self._closed:
            raise RuntimeError("this recorder is closed; watch the model again to record more")
        extra = dict(values or {}, **more)
        self.steps_per_epoch = self._steps
        record = self._append(self.state.epoch, self.monitors.call("on_epoch_end", self.state),
                              extra)
        self._begin(self.state.epoch + 1)
        return record

    def _rms(self, t):
        with torch.no_grad():
            p = t.param.detach().to(torch.float64)
            return math.sqrt(float(torch.dot(p.reshape(-1), p.reshape(-1)))) / math.sqrt(p.numel())

    def _predictions(self, values):
        out = {}
        for i, (t, rule) in enumerate(zip(self.tensors, self.current_rules())):
            if rule.kind not in ("sgd", "momentum", "adamw"):
                continue
            rms = self._rms(t)
            predicted = self._rms0[i] * abs(t.pure)
            out[f"{t.name}/predicted_rms"] = predicted
            out[f"{t.name}/rms_ratio"] = rms / predicted if predicted > 0 else math.nan
            if rule.kind != "adamw":
                continue
            tau = adamw_timescale(rule.lr, rule.wd)
            out[f"{t.name}/tau_steps"] = tau
            out[f"{t.name}/tau_epochs"] = tau / self._steps if self._steps else math.nan
            if t.ng_steps and self.budget:
                # the normalised gradient g / (sqrt(v_hat) + eps), before the first moment
                # averages it: its RMS is the update RMS of the random-walk balance
                update_rms = math.sqrt(t.totals()[5] / (t.ng_steps * t.param.numel()))
                eq = adamw_equilibrium(update_rms, rule.lr, rule.wd)
            else:
                update_rms = eq = math.nan
            out[f"{t.name}/update_rms"] = update_rms
            out[f"{t.name}/eq_rms"] = eq
            out[f"{t.name}/eq_ratio"] = rms / eq if eq > 0 else math.nan
        return out

    def _append(self, epoch, values, extra):
        record = {}
        for key, value in values.items():
            m = LAYER_KEY.fullmatch(key)
            if m and 1 <= int(m.group(1)) <= len(self.tensors):
                key = f"{self.tensors[int(m.group(1)) - 1].name}/{m.group(2)}"
            record[key] = value
        if self.predictions:
            record.update(self._predictions(values))
        record.update(extra)
        self.history.append({"epoch": epoch, **record})
        return record

    def close(self):
        """Detach the hooks, call the monitors' ``on_train_end`` and write the files (rank 0)."""
        if self._closed:
            return
        self._closed = True
        for h in self._handles:
            h.remove()
        self._handles = []
        if not self.active:
            return
        self.monitors.call("on_train_end", self.state)
        if self.path is not None:
            from .files import write_files

            write_files(self)

    detach = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return (f"Recorder({self.title!r}, tensors={[t.name for t in self.tensors]}, "
                f"epochs={len(self.history)})")


def watch(model, optimizer, monitors=None, path=None, *, n=None, predictions=True, mode="new",
          title=None):
    """Attach wdecay's monitors to ``model`` trained by ``optimizer``; return a :class:`Recorder`.

    Records epoch 0 (the parameters now) at once, then one record per
    ``rec.epoch_end()``. Hooks on the optimizer's step
    (``register_step_pre_hook`` / ``register_step_post_hook``) take the
    per-step parts; they only read the parameters, so training is unchanged
    bit for bit. ``rec.close()`` (or leaving ``with watch(...) as rec:``)
    detaches them and writes the files.

    Parameters
    ----------
    model : torch.nn.Module
        Its ``named_parameters`` name the tensors (a DistributedDataParallel
        wrapper's ``module.`` prefix is dropped).
    optimizer : torch.optim.Optimizer
        Its ``param_groups`` say which tensors are decayed and by how much.
    monitors : Monitor or list of Monitor, optional
        Default: WeightNorms, LayerStatistics, SumVsAbsSum and NormBudget.
        Monitors that need wdecay's own network (Accuracy, Cost, Balance,
        DecayPrediction, Saturation) are refused with the reason.
    path : str, optional
        A folder: ``history.csv`` grows by one line per epoch; ``close``
        writes ``history.json`` and ``report.html``. Only rank 0 writes.
    n : int, optional
        The training-set size (``state.n`` for monitors that ask for it).
    predictions : bool
        Record the pure-decay RMS (SGD, momentum, AdamW) and AdamW's timescale
        and equilibrium RMS per decayed tensor.
    mode : str
        The History file's mode (``"new"``, ``"resume"``, ...).
    title : str, optional
        The run's title in the report (default: the model's class name).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(3, 2)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.01)
    >>> with watch(model, opt) as rec:
    ...     model(torch.ones(4, 3)).sum().backward(); opt.step()
    ...     record = rec.epoch_end()
    >>> sorted(k for k in record if k.startswith("weight/budget"))[:2]
    ['weight/budget_D', 'weight/budget_G']
    """
    return Recorder(model, optimizer, monitors, path, n=n, predictions=predictions, mode=mode,
                    title=title)
