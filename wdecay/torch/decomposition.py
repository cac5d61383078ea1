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

All of it is computed on the parameter's device from one copy of the tensor
taken before the step, in the parameter's own precision (float32 for float32,
float16 and bfloat16 tensors, float64 for float64 ones), and summed in float64.
In float32 the dot products are rounded in float32: each of D, G, Q and the
measured change agrees with a float64 computation to 1e-5 of the largest term
(tested). Any other optimizer or option
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
FACTOR = ("none", "sgd", "adamw")  # the kinds with d = -c W (c = 0 without decay)
SAMPLE = 4096  # entries of a tensor on which AdamW's normalised gradient is measured
EVERY = 8  # ... and on every EVERY-th step of the tensor (its first step included)


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


def work_dtype(dtype):
    """The precision a tensor's copy and parts are computed in: float64 stays, the rest float32."""
    return F64 if dtype == F64 else torch.float32


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


class Tensor:
    """One watched parameter: its name, group, the pre-step copy and the epoch's sums.

    ``sums`` holds, on the parameter's device in float64, the epoch's sums of
    D, G, Q, the measured change, ||d|| / ||u|| (for ``rho``) and, under AdamW,
    ||g / (sqrt(v_hat) + eps)||^2, the normalised gradient before Adam's
    first moment averages it (for the equilibrium estimate).
    """

    def __init__(self, name, param, group):
        self.name, self.param, self.group = name, param, group
        self.rows = None             # (1 or 3, size) in work_dtype: W before the step, s, d
        self.before = None           # rows[0] shaped as the parameter: the one copy
        self.change = self.dpart = None  # rows[1] and rows[2] shaped as the parameter
        self.sample = None           # the entries AdamW's normalised gradient is measured on
        self.rule = None             # this step's Rule
        self.stepped = False         # had a gradient, so the optimizer touched it
        self.vd = None               # the decay share of the velocity or first moment
        self.started = False         # the optimizer had state for it before watching
        self.sums = None
        self.steps = 0
        self.bb = None               # ||W||^2 before this step (the CPU path for d = -c W)
        self.d = self.u = None       # this step's parts (kept only if a monitor reads them)
        self.pure = 1.0              # pure decay's factor on the RMS since epoch 0
        self._pure_v = 0.0

    def reset(self):
        self.sums = torch.zeros(6, dtype=F64, device=self.param.device)
        self.host = [0.0] * 6  # the same sums kept in Python floats (CPU parameters)
        self.steps = 0
        self.ng_steps = 0      # steps on which the normalised gradient was measured

    def totals(self):
        """The epoch's six sums as floats."""
        return [a + b for a, b in zip(self.sums.tolist(), self.host)]


class Decomposer:
    """Takes the pre-step copies and, after each step, the parts and the budget's sums."""

    def __init__(self, optimizer, tensors, keep_parts=False, budget=True, host=None):
        self.optimizer, self.tensors = optimizer, tensors
        # CPU parameters: the per-step Gram matrices are read and summed as Python floats
        # (no device to synchronise); elsewhere the sums stay on the parameters' device
        self.host = (all(t.param.device.type == "cpu" for t in tensors) if host is None
                     else bool(host))
        self.keep_parts, self.budget = keep_parts, budget
        for t in tensors:
            state = optimizer.state.get(t.param, {})
            t.started = any(k in state for k in ("momentum_buffer", "exp_avg"))
            if state.get("momentum_buffer", 0) is None:
                t.started = False
            t.reset()
        self._matrices = {}
        self._befores = self._params = self._dtypes = None

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
        """Before a step: the rules and the one copy of each tensor (one batched copy).

        On the CPU path for d = -c W the copy is the only row a tensor has (its change
        is written over it); otherwise each tensor has three: b, s and d.
        """
        self.rules_only()
        fast = self.host and self.budget and not self.keep_parts
        if self._befores is None or [t.param.dtype for t in self.tensors] != self._dtypes:
            self._allocate()
        for t in self.tensors:
            if len(t.rows) < 3 and not (fast and t.rule.kind in FACTOR):
                self._allocate(t, 3)
        with torch.no_grad():
            torch._foreach_copy_(self._befores, self._params)
            if fast:
                for t in self.tensors:  # ||b||^2 now, while the copy is in the cache
                    t.bb = (torch.dot(t.rows[0], t.rows[0]).item() if t.rule.kind in FACTOR
                            else None)
        self._copied = True

    def _allocate(self, tensor=None, rows=1):
        """The rows (b, and s and d if ``rows`` is 3) in :func:`work_dtype`, on the device.

        Without ``tensor``: one row for every tensor (again if a parameter's dtype changed).
        """
        for t in self.tensors if tensor is None else [tensor]:
            p = t.param
            t.rows = torch.empty((rows, p.numel()), dtype=work_dtype(p.dtype), device=p.device)
            views = [row.view(p.shape) for row in t.rows] + [None, None]
            t.before, t.change, t.dpart = views[:3]
            if t.vd is not None:  # the parameter's dtype changed: the decay share follows
                t.vd = t.vd.to(t.rows.dtype)
        self._params = [t.param for t in self.tensors]
        self._befores = [t.before for t in self.tensors]
        self._dtypes = [t.param.dtype for t in self.tensors]

    def post_step(self):
        """After a step: advance the pure-decay factors; the parts and sums if copied."""
        for t in self.tensors:
            if t.stepped:
                self._advance_pure(t)
        if not self._copied:
            return
        with torch.no_grad():
            for t in self.tensors:
                if t.bb is None:
                    self._post(t)
                else:
                    self._post_factor(t)

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

    def _decay_part(self, t, b, out):
        """d written into ``out``, or the factor c with d = -c W (None: d = 0)."""
        r = t.rule
        if not t.stepped or r.kind == "none":
            return None
        if r.kind == "sgd":
            return r.lr * r.wd
        if r.kind == "adamw":
            return 1.0 - (1.0 - r.lr * r.wd)  # the factor torch applies, as a change
        if t.vd is None:
            t.vd = torch.zeros_like(b)
        if r.kind == "momentum":
            t.vd.mul_(r.mu).add_(b, alpha=r.wd)
            if r.nesterov:
                torch.mul(b, -r.lr * r.wd, out=out)
                out.add_(t.vd, alpha=-r.lr * r.mu)
            else:
                torch.mul(t.vd, -r.lr, out=out)
            return out
        if r.kind == "adam":
            state = self.optimizer.state[t.param]
            step = _scalar(state["step"])
            t.vd.mul_(r.beta1).add_(b, alpha=(1.0 - r.beta1) * r.wd)
            out.copy_(state["exp_avg_sq"]).sqrt_().div_(math.sqrt(1.0 - r.beta2 ** step))
            out.add_(r.eps)
            torch.div(t.vd, out, out=out)
            out.mul_(-r.lr / (1.0 - r.beta1 ** step))
            return out
        raise AssertionError(r.kind)

    def _measure_ng(self, t):
        """True on the steps where AdamW's normalised gradient is measured (every EVERY-th)."""
        if t.rule.kind != "adamw" or not t.stepped:
            return False
        t.ng_count = getattr(t, "ng_count", -1) + 1
        if t.ng_count % EVERY:
            return False
        t.ng_steps += 1
        return True

    def _normalised_gradient(self, t):
        """||g / (sqrt(v_hat) + eps)||^2 of this step (v the optimizer's second moment).

        On a tensor of more than :data:`SAMPLE` entries it is the mean square over a
        fixed random choice of SAMPLE entries (drawn once, seed 0) times the size, and
        it is measured on every :data:`EVERY`-th step only: an estimate's input, at a
        cost independent of the tensor's size.
        """
        r, state = t.rule, self.optimizer.state[t.param]
        g, v = t.param.grad.reshape(-1), state["exp_avg_sq"].reshape(-1)
        if t.sample is None:
            t.sample = (torch.randperm(g.numel(), generator=torch.Generator().manual_seed(0))[
                :SAMPLE].sort().values.to(g.device) if g.numel() > SAMPLE else False)
        if t.sample is not False:  # new tensors, in float64: free to change in place
            scale = g.numel() / SAMPLE
            g = torch.index_select(g, 0, t.sample).to(F64)
            v = torch.index_select(v, 0, t.sample).to(F64)
        else:
            scale, g, v = 1.0, g.to(F64, copy=True), v.to(F64, copy=True)
        step = _scalar(state["step"])
        n = g.div_(v.sqrt_().div_(math.sqrt(1.0 - r.beta2 ** step)).add_(r.eps))
        return torch.dot(n, n) * scale

    def _post_factor(self, t):
        """:meth:`_post` for d = -c b on the CPU, with ||b||^2 taken before the step.

        The change s is written over the copy b, and <b, s> = <W after, s> - ||s||^2.
        """
        c = self._decay_part(t, None, None) or 0.0  # None (d = 0) or c
        bb, rs = t.bb, t.rows[0]
        torch.sub(t.param, t.before, out=t.before)
        ss = torch.dot(rs, rs).item()
        p = t.param.reshape(-1)
        bs = torch.dot(p if p.dtype == rs.dtype else p.to(rs.dtype), rs).item() - ss
        t.bb = None
        self._add(t, (c * c - 2.0 * c) * bb, 2.0 * (1.0 - c) * (bs + c * bb),
                  ss + 2.0 * c * bs + c * c * bb, 2.0 * bs + ss, c * c * bb)

    def _add(self, t, D, G, Q, measured, dd):
        """One step's terms added to the tensor's sums (Python floats, CPU)."""
        ng = float(self._normalised_gradient(t)) if self._measure_ng(t) else 0.0
        host = t.host
        host[0] += D
        host[1] += G
        host[2] += Q
        host[3] += measured
        host[4] += math.sqrt(dd / Q) if Q > 0 else math.nan
        host[5] += ng
        t.steps += 1

    def _post(self, t):
        """This step's D, G, Q, measured change, rho (and AdamW's ||n||^2) added to the sums.

        With b = W before, s = W after - W before and d the decay part, u = s - d::

            D = 2 <b, d> + ||d||^2,  G = 2 <b + d, s - d>,  Q = ||s - d||^2,
            measured = 2 <b, s> + ||s||^2 = ||W after||^2 - ||W before||^2,

        from the dot products of the rows (b, s, d); for d = -c b (SGD, AdamW, no
        decay) from <b, b>, <b, s> and <s, s> alone.
        """
        rows = t.rows
        torch.sub(t.param, t.before, out=t.change)
        if t.rule.kind == "unknown":
            t.d = t.u = None
            if self.budget:
                if self.host:
                    rb, rs = rows[0], rows[1]
                    t.host[3] += 2.0 * torch.dot(rb, rs).item() + torch.dot(rs, rs).item()
                else:
                    r = rows[:2].to(F64)
                    gram = r @ r.T
                    t.sums[3] += 2.0 * gram[0, 1] + gram[1, 1]
                t.sums[[0, 1, 2, 4, 5]] = math.nan
                t.steps += 1
            return
        d = self._decay_part(t, t.before, t.dpart)
        if self.keep_parts:
            b = t.before
            t.d = (torch.zeros_like(b) if d is None else
                   b * -d if isinstance(d, float) else d.clone())
            t.u = t.change - t.d
        if not self.budget:
            return
        factor = d is None or isinstance(d, float)
        c = 0.0 if d is None else d
        if self.host:  # dot products on the CPU, read as Python floats (no device to wait for)
            dot, rb, rs = torch.dot, rows[0], rows[1]
            if factor:  # d = -c b
                bb, bs, ss = dot(rb, rb).item(), dot(rb, rs).item(), dot(rs, rs).item()
                D, G = (c * c - 2.0 * c) * bb, 2.0 * (1.0 - c) * (bs + c * bb)
                Q, dd = ss + 2.0 * c * bs + c * c * bb, c * c * bb
            else:
                rd = rows[2]
                bb, bs, bd = dot(rb, rb).item(), dot(rb, rs).item(), dot(rb, rd).item()
                ss, sd, dd = dot(rs, rs).item(), dot(rs, rd).item(), dot(rd, rd).item()
                D, G, Q = 2.0 * bd + dd, 2.0 * (bs - bd + sd - dd), ss - 2.0 * sd + dd
            self._add(t, D, G, Q, 2.0 * bs + ss, dd)
            return
        device = t.param.device
        if factor:
            r = rows[:2].to(F64)
            gram = (r @ r.T).reshape(-1)  # bb, bs, sb, ss
            M = self._factor_matrix(c, device)
        else:
            r = rows.to(F64)
            gram = (r @ r.T).reshape(-1)  # bb, bs, bd, sb, ss, sd, db, ds, dd
            M = self._general_matrix(device)
        v = M @ gram  # D, G, Q, measured, ||d||^2
        t.sums[:4] += v[:4]
        t.sums[4] += torch.sqrt(v[4] / v[2])
        if self._measure_ng(t):
            t.sums[5] += self._normalised_gradient(t)
        t.steps += 1

    def _factor_matrix(self, c, device):
        """(D, G, Q, measured, ||d||^2) = M (bb, bs, sb, ss) for d = -c b (cached per c)."""
        key = ("factor", c, device)
        if key not in self._matrices:
            self._matrices[key] = torch.tensor(
                [[c * c - 2.0 * c, 0, 0, 0], [2.0 * (1.0 - c) * c, 2.0 * (1.0 - c), 0, 0],
                 [c * c, c, c, 1.0], [0, 1.0, 1.0, 1.0], [c * c, 0, 0, 0]],
                dtype=F64, device=device)
        return self._matrices[key]

    def _general_matrix(self, device):
        """(D, G, Q, measured, ||d||^2) = M (bb, bs, bd, sb, ss, sd, db, ds, dd)."""
        key = ("general", device)
        if key not in self._matrices:
            #   D = 2 bd + dd, G = 2 (bs - bd + ds - dd), Q = ss - 2 ds + dd, measured = 2 bs + ss
            self._matrices[key] = torch.tensor(
                [[0, 0, 1, 0, 0, 0, 1, 0, 1], [0, 1, -1, 1, 0, 1, -1, 1, -2],
                 [0, 0, 0, 0, 1, -1, 0, -1, 1], [0, 1, 0, 1, 1, 0, 0, 0, 0],
                 [0, 0, 0, 0, 0, 0, 0, 0, 1]], dtype=F64, device=device)
        return self._matrices[key]
