"""The decay part and gradient part of each torch.optim step, and the exact norm budget.

A step maps a parameter W -> W + d + u. The decay part d follows the
definitions of ``docs/optimizers.rst`` (and :mod:`wdecay.optim`), with
wd = the group's ``weight_decay`` and lr its ``lr`` at that step:

- ``SGD`` (coupled, no momentum): d = -lr wd W;
- ``SGD`` with momentum mu: the decay share of the velocity,
  v_d <- mu v_d + wd W, d = -lr v_d (Nesterov: d = -lr (wd W + mu v_d));
- ``Adam`` (coupled): d = -lr m_d_hat / (sqrt(v_hat) + eps), m_d the first
  moment of the decay gradients wd W alone, v the optimizer's own second
  moment of the total gradient, the same denominator as its step;
- ``AdamW`` (decoupled): d = ((1 - lr wd) - 1) W, the factor's change;
- a group with ``weight_decay == 0``: d = 0 (undecayed).

u is the rest of the measured change: u = (W_after - W) - d. Then, exactly::

    ||W_after||^2 - ||W||^2 = D + G + Q,
    D = ||W + d||^2 - ||W||^2,  G = 2 <W + d, u>,  Q = ||u||^2.

All of it is computed in float64 on the parameter's device from one copy of
the tensor taken before the step. Any other optimizer or option
(``dampening``, ``amsgrad``, ``maximize``, ``differentiable``, ``fused``, a
momentum or Adam state that existed before watching began) gets the
measured change only: its D, G and Q are NaN, and :data:`UNKNOWN` says why.

Examples
--------
>>> import torch
>>> p = torch.nn.Parameter(torch.ones(3))
>>> decay_rule(torch.optim.SGD([p], lr=0.1, weight_decay=0.01), 0).kind
'sgd'
>>> decay_rule(torch.optim.RMSprop([p], lr=0.1), 0).kind
'unknown'
"""

from __future__ import annotations

import math

import torch

UNKNOWN = "the decay part of this optimizer's step is unknown to wdecay"
"""The start of every statement that a decomposition is not available."""

F64 = torch.float64


class Rule:
    """How one parameter group's step splits into decay and gradient parts.

    ``kind`` is one of ``"none"`` (no decay: d = 0), ``"sgd"``, ``"momentum"``,
    ``"adam"`` (coupled), ``"adamw"`` (decoupled) or ``"unknown"``; ``why``
    says, for ``"unknown"``, what is not covered.
    """

    __slots__ = ("kind", "why", "lr", "wd", "mu", "nesterov", "beta1", "beta2", "eps")

    def __init__(self, kind, why="", lr=math.nan, wd=0.0, mu=0.0, nesterov=False,
                 beta1=0.0, beta2=0.0, eps=0.0):
        self.kind, self.why = kind, why
        self.lr, self.wd, self.mu, self.nesterov = lr, wd, mu, nesterov
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    @property
    def decoupled(self):
        return self.kind == "adamw"

    def describe(self):
        """One line for the history and the report."""
        if self.kind == "unknown":
            return f"{UNKNOWN}: {self.why}"
        return {"none": "no weight decay (weight_decay = 0)",
                "sgd": f"coupled weight decay, SGD (weight_decay = {self.wd:g})",
                "momentum": (f"coupled weight decay, SGD with {'Nesterov ' if self.nesterov else ''}"
                             f"momentum {self.mu:g} (weight_decay = {self.wd:g})"),
                "adam": f"coupled weight decay, Adam (weight_decay = {self.wd:g})",
                "adamw": f"decoupled weight decay, AdamW (weight_decay = {self.wd:g})"}[self.kind]


def _unknown(why):
    return Rule("unknown", why)


def _scalar(x):
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


def decay_rule(optimizer, group_index):
    """The :class:`Rule` of ``optimizer.param_groups[group_index]`` as it stands now."""
    group = optimizer.param_groups[group_index]
    name = f"torch.optim.{type(optimizer).__name__}"
    cls = type(optimizer)
    for flag in ("maximize", "differentiable"):
        if group.get(flag):
            return _unknown(f"{name} with {flag}=True is not decomposed")
    if group.get("fused"):
        return _unknown(f"{name} with fused=True (a kernel with its own arithmetic) "
                        "is not decomposed")
    lr, wd = _scalar(group["lr"]), _scalar(group.get("weight_decay", 0.0))
    if cls is torch.optim.SGD:
        if group.get("dampening", 0) != 0:
            return _unknown(f"{name} with dampening != 0 is not decomposed")
        mu = _scalar(group.get("momentum", 0.0))
        if wd == 0:
            return Rule("none", lr=lr)
        if mu == 0:
            return Rule("sgd", lr=lr, wd=wd)
        return Rule("momentum", lr=lr, wd=wd, mu=mu, nesterov=bool(group.get("nesterov")))
    if cls in (torch.optim.Adam, torch.optim.AdamW):
        if group.get("amsgrad"):
            return _unknown(f"{name} with amsgrad=True is not decomposed")
        if wd == 0:
            return Rule("none", lr=lr)
        b1, b2 = (_scalar(b) for b in group["betas"])
        kind = "adamw" if group.get("decoupled_weight_decay", cls is torch.optim.AdamW) else "adam"
        return Rule(kind, lr=lr, wd=wd, beta1=b1, beta2=b2, eps=_scalar(group["eps"]))
    return _unknown(f"{name} is not one of SGD, Adam, AdamW")


def _dot(x, y):
    return torch.dot(x.reshape(-1), y.reshape(-1))


class Tensor:
    """One watched parameter: its name, group, the pre-step copy and the epoch's sums.

    ``sums`` holds, on the parameter's device in float64, the epoch's sums of
    D, G, Q, the measured change, ||d|| / ||u|| (for ``rho``) and, under AdamW,
    ||g / (sqrt(v_hat) + eps)||^2, the normalised gradient before Adam's
    first moment averages it (for the equilibrium estimate).
    """

    def __init__(self, name, param, group):
        self.name, self.param, self.group = name, param, group
        self.before = None           # the one copy of the tensor taken before each step
        self.rule = None             # this step's Rule
        self.stepped = False         # had a gradient, so the optimizer touched it
        self.vd = None               # the decay share of the velocity or first moment
        self.started = False         # the optimizer had state for it before watching
        self.sums = None
        self.steps = 0
        self.d = self.u = None       # this step's parts (kept only if a monitor reads them)
        self.pure = 1.0              # pure decay's factor on the RMS since epoch 0
        self._pure_v = 0.0

    def reset(self):
        self.sums = torch.zeros(6, dtype=F64, device=self.param.device)
        self.steps = 0


class Decomposer:
    """Takes the pre-step copies and, after each step, the parts and the budget's sums."""

    def __init__(self, optimizer, tensors, keep_parts=False, budget=True):
        self.optimizer, self.tensors = optimizer, tensors
        self.keep_parts, self.budget = keep_parts, budget
        for t in tensors:
            state = optimizer.state.get(t.param, {})
            t.started = any(k in state for k in ("momentum_buffer", "exp_avg"))
            if state.get("momentum_buffer", 0) is None:
                t.started = False
            t.reset()
        self._rules = {}

    def rules(self):
        """The current :class:`Rule` of every group (recomputed each step: cheap)."""
        return [decay_rule(self.optimizer, i) for i in range(len(self.optimizer.param_groups))]

    def rules_only(self):
        """Before a step when no part is needed: the rules, for the pure-decay factors."""
        rules = self.rules()
        for t in self.tensors:
            t.rule = self._rule(t, rules)
            t.stepped = t.param.grad is not None
        self._copied = False

    def _rule(self, t, rules):
        rule = rules[t.group]
        if t.started and rule.kind in ("momentum", "adam"):
            rule = _unknown("watching began after the optimizer's first step, so the "
                            "decay share of its momentum or first moment is not known")
        return rule

    def pre_step(self):
        """Before a step: the rules and the one copy of each tensor."""
        self.rules_only()
        with torch.no_grad():
            for t in self.tensors:
                if t.before is None:
                    t.before = torch.empty_like(t.param, memory_format=torch.preserve_format)
                t.before.copy_(t.param)
        self._copied = True

    def post_step(self):
        """After a step: advance the pure-decay factors; the parts and sums if copied."""
        for t in self.tensors:
            if t.stepped:
                self._advance_pure(t)
        if not self._copied:
            return
        with torch.no_grad():
            for t in self.tensors:
                self._post(t)

    @staticmethod
    def _advance_pure(t):
        """What decay alone does to a scalar c (W = c W_0), with this step's lr and wd."""
        r = t.rule
        if r.kind in ("sgd", "adamw"):
            t.pure *= 1.0 - r.lr * r.wd
        elif r.kind == "momentum":
            pv = r.mu * t._pure_v + r.wd * t.pure
            step = (r.wd * t.pure + r.mu * pv) if r.nesterov else pv
            t._pure_v, t.pure = pv, t.pure - r.lr * step
        elif r.kind in ("adam", "unknown"):
            t.pure = math.nan  # not a factor on W

    def _decay_part(self, t, b):
        """d in float64 (None when it is 0), and the pure-decay factor's step."""
        r = t.rule
        if not t.stepped or r.kind == "none":
            return None
        if r.kind == "sgd":
            return b * (-r.lr * r.wd)
        if r.kind == "adamw":
            return b * (1.0 - r.lr * r.wd) - b
        if r.kind == "momentum":
            if t.vd is None:
                t.vd = torch.zeros_like(b)
            t.vd.mul_(r.mu).add_(b, alpha=r.wd)
            share = (b * r.wd).add_(t.vd, alpha=r.mu) if r.nesterov else t.vd
            return share * (-r.lr)
        if r.kind == "adam":
            state = self.optimizer.state[t.param]
            step = _scalar(state["step"])
            if t.vd is None:
                t.vd = torch.zeros_like(b)
            t.vd.mul_(r.beta1).add_(b, alpha=(1.0 - r.beta1) * r.wd)
            denom = torch.sqrt(state["exp_avg_sq"].to(F64)).div_(math.sqrt(1.0 - r.beta2 ** step))
            denom.add_(r.eps)
            return (t.vd / denom).mul_(-r.lr / (1.0 - r.beta1 ** step))
        raise AssertionError(r.kind)

    def _normalised_gradient(self, t):
        """||g / (sqrt(v_hat) + eps)||^2 of this step (v the optimizer's second moment)."""
        r, state = t.rule, self.optimizer.state[t.param]
        step = _scalar(state["step"])
        denom = torch.sqrt(state["exp_avg_sq"].to(F64)).div_(math.sqrt(1.0 - r.beta2 ** step))
        n = t.param.grad.to(F64) / denom.add_(r.eps)
        return _dot(n, n)

    def _post(self, t):
        p = t.param.detach()
        b = t.before if t.before.dtype == F64 else t.before.to(F64)
        a = p if p.dtype == F64 else p.to(F64)
        s = a - b
        if t.rule.kind == "unknown":
            t.d, t.u = None, None
            if self.budget:
                nan = torch.tensor(math.nan, dtype=F64, device=s.device)
                t.sums += torch.stack([nan, nan, nan, _dot(s, a + b), nan, nan])
                t.steps += 1
            return
        d = self._decay_part(t, b)
        u = s if d is None else s - d
        if self.keep_parts:
            t.d = torch.zeros_like(b) if d is None else d
            t.u = u
        if not self.budget:
            return
        uu = _dot(u, u)
        zero = torch.zeros((), dtype=F64, device=s.device)
        ng = self._normalised_gradient(t) if t.rule.kind == "adamw" and t.stepped else zero
        if d is None:
            row = torch.stack([zero, 2.0 * _dot(b, u), uu, _dot(s, a + b), zero, ng])
        else:
            bd = b + d
            dd = _dot(d, d)
            rho = torch.where(uu > 0, torch.sqrt(dd / uu), torch.full_like(uu, math.nan))
            row = torch.stack([_dot(d, b + bd), 2.0 * _dot(bd, u), uu, _dot(s, a + b), rho, ng])
        t.sums += row
        t.steps += 1
