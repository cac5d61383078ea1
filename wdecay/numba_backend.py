"""Optional compiled epoch: the steps of one SGD epoch in a single numba kernel.

Install with ``pip install "wdecay[fast]"``. The kernel does exactly the step of
:mod:`wdecay.training` for every mini-batch ``B = order[k:k+m]`` of the epoch::

    w <- decay_factor * w - (eta / |B|) sum_{x in B} dC_x/dw
    b <- b - (eta / |B|) sum_{x in B} dC_x/db

with ``decay_factor = 1 - eta lmbda / n`` for L2 and 1 without decay, the short
last batch averaged over its own length. It is not a second engine: the epoch
loop, the permutation, monitors and history stay in :func:`wdecay.fit`, which
calls :meth:`NumbaEpoch.run` once per epoch.

Inside the kernel every product is one call of scipy's Fortran BLAS gemm
(``scipy.linalg.cython_blas`` ``dgemm``/``sgemm``, called by a symbol name
bound to its address at build time, so numba can cache the kernel on disk),
and each weight update accumulates in place, ``W^T <- decay W^T - A^T Delta``
(gemm's ``beta`` is the decay), with no gradient buffer. The first (largest)
layer carries a lazy L2 scale, ``W_0 = s V_0``: the decay multiplies the
scalar ``s`` and the update is ``V_0 <- V_0 - Delta^T X / s`` (``alpha = -1/s``,
``beta = 1``), so a step never rescales the 784x30 matrix. On the dense path
``V_0`` is ``network.weights[0]`` itself; a sparse first layer (CSR rows, used
when the inputs' density is below :data:`SPARSE_DENSITY`) keeps ``V_0``
transposed in a copy, so that an input's row of it is contiguous. The scale is
folded back into ``V_0`` when ``|s|`` leaves ``[1e-100, 1e100]`` (``[1e-20,
1e20]`` in float32, whose range is smaller) and at the end of every epoch,
when ``network.weights[0]`` holds ``W_0`` again. While a batch is computed,
the rows of the next one are prefetched into the cache.

numba is imported lazily: this module imports without it, and
:func:`available` then returns False.
"""

from __future__ import annotations

import numpy as np

SPARSE_DENSITY = {np.float64: 0.20, np.float32: 0.17}
"""Inputs with fewer non-zero entries than this fraction run a CSR first layer.

Measured by ``benchmarks/numba_density.py`` ([784, 30, 10], 20,000 rows of
uniform inputs with a random fraction of zeros, one BLAS thread, medians of
CPU time; load average about 5): the dense and CSR epochs cost the same at
density 0.193 (float64, batch 10), 0.259 (float64, batch 100), 0.171 (float32,
batch 10) and 0.237 (float32, batch 100); the thresholds start from the
smaller of each dtype's two: 0.171 rounds down to 0.17, and 0.193 is rounded
*up* to 0.20 because the MNIST sample itself, at density 0.193, ran 1.09x
faster CSR than dense in float64 on its real digits. The MNIST sample (19% non-zero) thus
runs CSR in float64 and dense in float32, Fashion-MNIST (50%) dense. The table
is in docs/speed.rst.
"""

from .lazy_scale import FOLD_LIMIT  # noqa: E402 (the one lazy-scale rule, shared with lockstep)

_gemm = _prefetch = None  # the kernel's intrinsics, set by _build (they need numba)
_KERNEL = None


def available():
    """True if numba can be imported (the compiled backend can run).

    Examples
    --------
    >>> isinstance(available(), bool)
    True
    """
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def cost_kernel_id(cost):
    """The kernel's branch for ``cost``: the ``kernel_id`` its class declares, or None.

    Examples
    --------
    >>> import wdecay
    >>> cost_kernel_id(wdecay.costs.QuadraticCost()), cost_kernel_id(object())
    (1, None)
    """
    return vars(type(cost)).get("kernel_id")


class NumbaEpoch:
    """The compiled steps of one epoch for ``network`` on ``(X, Y)``, prepared once per fit.

    Parameters
    ----------
    network : Network
        Trained in place: the arrays of ``network.weights`` and
        ``network.biases`` hold the trained values at the end of every
        :meth:`run` (during it, on the dense path, ``network.weights[0]``
        holds the unscaled ``V_0 = W_0 / s``).
    X : array (n, sizes[0])
        Inputs, C-contiguous in the network's dtype (as :func:`wdecay.fit`
        checks them). When fewer than :data:`SPARSE_DENSITY` of the entries
        are non-zero, a CSR copy is kept instead of reading ``X``.
    Y : array (n, sizes[-1])
        Targets (one-hot rows for labels), in the network's dtype.
    batch_size : int
        Mini-batch size ``m``.
    sparse : bool, optional
        Force the CSR (True) or the dense (False) first layer; by default
        chosen by the density of ``X``.

    Examples
    --------
    >>> import wdecay
    >>> from wdecay.numba_backend import NumbaEpoch, available
    >>> net = wdecay.Network([4, 3, 2], seed=0)
    >>> reason = NumbaEpoch.unsupported_reason(net, wdecay.L2(1.0), per_batch_monitors=False)
    >>> reason is None or "numba" in reason
    True
    """

    def __init__(self, network, X, Y, batch_size, *, sparse=None):
        reason = _network_reason(network) or _array_reason(network, X, Y)
        if reason is not None:
            raise ValueError(reason)
        self.kernel = _kernel()
        self.network = network
        dt = network.weights[0].dtype
        sizes = network.sizes
        m = int(min(batch_size, len(X)))
        self.batch_size = m
        self.density = np.count_nonzero(X) / X.size
        if sparse is None:
            sparse = self.density < SPARSE_DENSITY[dt.type]
        self.sparse = bool(sparse)
        if self.sparse:
            from scipy.sparse import csr_array

            csr = csr_array(X)
            self.indptr = csr.indptr.astype(np.int64)
            self.indices = csr.indices.astype(np.int32)
            self.data = np.ascontiguousarray(csr.data, dtype=dt)
            self.X = np.zeros((1, sizes[0]), dt)  # not read
        else:
            self.indptr = np.zeros(1, np.int64)
            self.indices = np.zeros(0, np.int32)
            self.data = np.zeros(0, dt)
            self.X = X
        self.Y = Y
        self.acts = tuple(np.empty((m, s), dt) for s in sizes)
        self.deltas = tuple(np.empty((m, s), dt) for s in sizes[1:])
        # The CSR path keeps V_0 transposed, (in, width), with the width padded by zero
        # columns to a multiple of 32 so that its row loops vectorize without a scalar
        # remainder; the dense path works on network.weights[0] itself (empty buffers).
        width = sizes[1]
        if self.sparse and -(-width // 32) * 32 <= 1.25 * width:
            width = -(-width // 32) * 32
        rows = (sizes[0], m) if self.sparse else (0, 0)
        self.v0 = np.zeros((rows[0], width), dt)
        self.z0 = np.zeros((rows[1], width), dt)
        self.d0 = np.zeros((rows[1], width), dt)
        self.cost_id = cost_kernel_id(network.cost)
        self.limit = FOLD_LIMIT[dt.type]

    @staticmethod
    def unsupported_reason(network, regularizer, per_batch_monitors, optimizer=None):
        """None if the kernel can run this training, else a one-line reason why not.

        Examples
        --------
        >>> import wdecay
        >>> net = wdecay.Network([4, 3, 2], activation="tanh", seed=0)
        >>> NumbaEpoch.unsupported_reason(net, None, per_batch_monitors=False)  # doctest: +ELLIPSIS
        '...'
        """
        if not available():
            return "the numba backend needs numba: pip install 'wdecay[fast]'"
        if optimizer is not None and not getattr(optimizer, "nielsen", False):
            return f"the numba backend runs Nielsen's plain SGD only, got optimizer {optimizer!r}"
        if per_batch_monitors:
            return "the numba backend cannot call per-batch monitors (on_batch_end)"
        if regularizer is not None and regularizer.has_shrink:
            return (f"the numba backend covers decay by a factor only (L2, no decay), "
                    f"got {regularizer!r}, whose step also shrinks the weights")
        return _network_reason(network)

    # -- the driver's kernel interface (wdecay.driver) ------------------------------
    @staticmethod
    def refusal(plan):
        """None if the kernel can run ``plan`` (every network's regularizer), else why not."""
        for regularizer in plan.regularizers:
            reason = NumbaEpoch.unsupported_reason(plan.networks[0], regularizer, plan.per_batch,
                                                   plan.optimizer)
            if reason is not None:
                return reason
        return None

    @classmethod
    def prepare(cls, plan):
        """One prepared epoch shared by ``plan``'s networks, run one after another."""
        epoch = cls(plan.networks[0], np.ascontiguousarray(plan.X), np.ascontiguousarray(plan.Y),
                    min(plan.batch_size, plan.n))
        epoch._runs = [(net, float(eta), reg.factor(eta, plan.n)) for net, eta, reg
                       in zip(plan.networks, plan.etas, plan.regularizers)]
        epoch._separate = plan.separate
        return epoch

    def ready(self, monitors):
        """Nothing to read from the monitors (the kernel calls none)."""

    def run_epoch(self, orders, alive):
        """One epoch of every live network, in turn, each over its order (or the shared one)."""
        for k, (net, eta, factor) in enumerate(self._runs):
            if alive[k]:
                self.run(orders[k if self._separate else 0], eta, factor, network=net)

    def run(self, order, eta, decay_factor, network=None):
        """Run the steps of one epoch over the mini-batches ``order[k:k+m]``, in place.

        Parameters
        ----------
        order : int array (n,)
            The epoch's permutation of the rows.
        eta : float
            Learning rate.
        decay_factor : float
            The factor on the weights each step, ``1 - eta lmbda / n`` for L2.
        network : Network, optional
            Train this network instead of the one prepared for: it must have the
            same sizes, cost kernel and dtype (a sweep shares one prepared epoch,
            its data and buffers, among its networks).
        """
        net = self.network if network is None else network
        if net is not self.network:
            mine = self.network
            if (net.sizes != mine.sizes or cost_kernel_id(net.cost) != self.cost_id
                    or net.weights[0].dtype != mine.weights[0].dtype):
                raise ValueError(f"`network` must match the prepared one ({mine.sizes}, "
                                 f"{type(mine.cost).__name__}, {mine.weights[0].dtype}), got "
                                 f"{net.sizes}, {type(net.cost).__name__}, "
                                 f"{net.weights[0].dtype}")
        # the kernel reads and writes the arrays without bounds checks: arrays replaced
        # since the epoch was prepared (another dtype, shape or layout) are refused
        reason = _network_reason(net) or _layout_reason(net, self.acts[0].dtype,
                                                        self.network.sizes)
        if reason is not None:
            raise ValueError(reason)
        order = np.ascontiguousarray(order, dtype=np.int64)
        n = len(self.Y)
        if order.ndim != 1 or len(order) != n:
            raise ValueError(f"`order` must be a 1-d array of {n} row indices, "
                             f"got shape {order.shape}")
        if order.min() < 0 or order.max() >= n:  # the kernel does not check bounds
            raise ValueError(f"`order` must hold row indices in [0, {n}), "
                             f"got [{order.min()}, {order.max()}]")
        self.kernel(self.X, self.indptr, self.indices, self.data, self.sparse, self.Y, order,
                    self.batch_size, float(eta), float(decay_factor), self.cost_id, self.limit,
                    tuple(net.weights), tuple(net.biases), self.v0, self.z0, self.d0, self.acts,
                    self.deltas)


def _network_reason(network):
    from .activations import Sigmoid

    if type(network.activation) is not Sigmoid:
        return f"the numba backend covers sigmoid hidden layers only, got {network.activation!r}"
    if cost_kernel_id(network.cost) is None:
        return (f"the numba backend has no kernel for the cost {network.cost!r}: its class "
                "declares no kernel_id (see wdecay.costs.Cost.kernel_id)")
    dtype = network.weights[0].dtype
    if dtype.type not in FOLD_LIMIT:
        return f"the numba backend needs float64 or float32 weights, got {dtype}"
    if not all(p.flags.c_contiguous and p.dtype == dtype for p in network.parameters()):
        return "the numba backend needs C-contiguous weights and biases of one dtype"
    return None


def _layout_reason(network, dtype, sizes):
    """None if the network's arrays are writable, of ``dtype`` and shaped by ``sizes``."""
    weights, biases = network.weights, network.biases
    if len(weights) != len(sizes) - 1 or len(biases) != len(sizes) - 1:
        return (f"the numba epoch was prepared for {len(sizes) - 1} weight layers, the network "
                f"has {len(weights)} weight and {len(biases)} bias arrays")
    for l, (w, b) in enumerate(zip(weights, biases)):
        shapes = ((sizes[l + 1], sizes[l]), (sizes[l + 1],))
        if (w.shape, b.shape) != shapes or w.dtype != dtype or b.dtype != dtype \
                or not (w.flags.writeable and b.flags.writeable):
            return (f"the numba epoch was prepared for writable {dtype} arrays of shapes "
                    f"{shapes[0]} and {shapes[1]} in layer {l + 1}, got {w.dtype} {w.shape} and "
                    f"{b.dtype} {b.shape}" + ("" if w.flags.writeable and b.flags.writeable
                                              else " (read-only)"))
    return None


def _array_reason(network, X, Y):
    dt = network.weights[0].dtype
    for name, a, cols in (("X", X, network.sizes[0]), ("Y", Y, network.sizes[-1])):
        if not (isinstance(a, np.ndarray) and a.dtype == dt and a.ndim == 2
                and a.shape[1] == cols and a.flags.c_contiguous):
            return (f"`{name}` must be a C-contiguous {dt} array with {cols} columns, "
                    f"got {type(a).__name__} {getattr(a, 'dtype', '')} "
                    f"{getattr(a, 'shape', '')}")
    if len(X) != len(Y) or len(X) == 0:
        return f"`X` and `Y` must have the same, positive number of rows, got {len(X)} and {len(Y)}"
    return None


def _kernel():
    """The compiled epoch function (compiled or loaded from numba's disk cache once)."""
    global _KERNEL
    if _KERNEL is None:
        if not available():
            raise ImportError("the numba backend needs numba: pip install 'wdecay[fast]'")
        _KERNEL = _build()
    return _KERNEL


def _build():
    import numba

    _register_blas()
    globals()["_gemm"] = _gemm_intrinsic()
    globals()["_prefetch"] = _prefetch_intrinsic()
    return numba.njit(cache=True, nogil=True)(_epoch)


GEMM_SYMBOLS = {"float64": "wdecay_dgemm", "float32": "wdecay_sgemm"}
"""Names under which scipy's Fortran ``dgemm`` and ``sgemm`` are known to the kernel."""


def _register_blas():
    """Make scipy's BLAS gemm callable from compiled code under :data:`GEMM_SYMBOLS`.

    The compiled kernel names the functions, not their addresses, so numba can
    cache it on disk; the names are bound to the addresses of this process's
    ``scipy.linalg.cython_blas`` before the kernel is compiled or loaded.
    """
    import llvmlite.binding as llvm
    from numba.extending import get_cython_function_address

    for symbol in GEMM_SYMBOLS.values():
        address = get_cython_function_address("scipy.linalg.cython_blas", symbol[-5:])
        llvm.add_symbol(symbol, address)


def _gemm_intrinsic():
    """The compiled ``_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)``.

    Fortran gemm, ``C <- alpha op(A) op(B) + beta C`` in column-major terms
    (op transposes when ``ta``/``tb`` is true; a C-contiguous (r, c) array is a
    column-major (c, r) matrix of leading dimension c), on the arrays' data.
    Every scalar goes to BLAS by pointer, from a stack slot.
    """
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def _gemm(typingctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        dtype = c.dtype
        sig = types.void(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

        def codegen(context, builder, signature, args):
            byte, int32 = ir.IntType(8), ir.IntType(32)
            real = context.get_value_type(dtype)

            def slot(value, ty):
                ptr = cgutils.alloca_once(builder, ty)
                builder.store(value, ptr)
                return ptr

            def trans(i):
                flag = context.cast(builder, args[i], signature.args[i], types.boolean)
                return slot(builder.select(flag, byte(ord("T")), byte(ord("N"))), byte)

            def integer(i):
                return slot(context.cast(builder, args[i], signature.args[i], types.int32), int32)

            def scalar(i):
                return slot(context.cast(builder, args[i], signature.args[i], dtype), real)

            def data(i):
                return context.make_array(signature.args[i])(context, builder, args[i]).data

            values = [trans(0), trans(1), integer(2), integer(3), integer(4), scalar(5),
                      data(6), integer(7), data(8), integer(9), scalar(10), data(11),
                      integer(12)]
            fnty = ir.FunctionType(ir.VoidType(), [v.type for v in values])
            fn = cgutils.get_or_insert_function(builder.module, fnty, GEMM_SYMBOLS[str(dtype)])
            builder.call(fn, values)
            return context.get_dummy_value()

        return sig, codegen

    return _gemm


def _prefetch_intrinsic():
    """The compiled ``_prefetch(a, i)``: a hint to load the cache line of ``a.flat[i]``."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def _prefetch(typingctx, a, i):
        sig = types.void(a, i)

        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, args[0])
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), cgutils.voidptr_t)
            int32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, int32, int32, int32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [cgutils.voidptr_t], fnty)
            builder.call(fn, [ptr, int32(0), int32(3), int32(1)])  # read, keep, data
            return context.get_dummy_value()

        return sig, codegen

    return _prefetch


def _epoch(X, indptr, indices, data, sparse, Y, order, m, eta, decay, cost, limit,
           weights, biases, v0, z0, d0, acts, deltas):
    """The kernel (compiled by :func:`_build`): one epoch of steps, in place.

    Products are column-major gemm calls (see :func:`_gemm_intrinsic`): a
    C-contiguous (out, in) ``W`` is the column-major ``W^T`` and a batch ``A``
    of rows is ``A^T``. ``W_0 = s V_0``: on the dense path ``V_0`` is
    ``weights[0]`` itself; on the CSR path it is ``v0``, transposed, so that an
    input's row of ``V_0^T`` is contiguous.
    """
    n = order.shape[0]
    last = len(weights) - 1
    w0 = weights[0]
    n_out, n_in = w0.shape
    width = v0.shape[1]  # columns from n_out to width are zero padding
    if sparse:
        for k in range(n_in):  # V_0^T with scale s = 1
            for j in range(n_out):
                v0[k, j] = w0[j, k]
    s = 1.0
    line = 64 // X.itemsize  # elements per cache line
    for start in range(0, n, m):
        mb = min(m, n - start)
        # ---- forward: z_0 = s x V_0^T, z_l = a_l W_l^T, then a = f(z + b)
        for layer in range(last + 1):
            z = acts[layer + 1][:mb]
            b = biases[layer]
            w = weights[layer]
            if layer == 0 and sparse:
                zp = z0[:mb]
                for i in range(mb):
                    row = order[start + i]
                    for j in range(width):
                        zp[i, j] = 0.0
                    for p in range(indptr[row], indptr[row + 1]):
                        k = indices[p]
                        x = data[p]
                        for j in range(width):
                            zp[i, j] += x * v0[k, j]
                for i in range(mb):
                    for j in range(n_out):
                        z[i, j] = s * zp[i, j]
                for i in range(start + m, min(start + 2 * m, n)):  # the next batch's rows
                    row = order[i]
                    for p in range(indptr[row], indptr[row + 1], 64 // data.itemsize):
                        _prefetch(data, p)
                    for p in range(indptr[row], indptr[row + 1], 16):
                        _prefetch(indices, p)
            else:
                if layer == 0:
                    a0 = acts[0][:mb]
                    for i in range(mb):
                        row = order[start + i]
                        for k in range(n_in):
                            a0[i, k] = X[row, k]
                    for i in range(start + m, min(start + 2 * m, n)):  # the next batch's rows
                        for k in range(0, n_in, line):
                            _prefetch(X, order[i] * n_in + k)
                alpha = s if layer == 0 else 1.0
                _gemm(True, False, w.shape[0], mb, w.shape[1], alpha, w, w.shape[1],
                      acts[layer][:mb], w.shape[1], 0.0, z, w.shape[0])
            if layer == last and cost == 2:  # softmax outputs
                for i in range(mb):
                    for j in range(z.shape[1]):
                        z[i, j] += b[j]
                    top = z[i, 0]
                    for j in range(1, z.shape[1]):
                        top = max(top, z[i, j])
                    total = 0.0
                    for j in range(z.shape[1]):
                        z[i, j] = np.exp(z[i, j] - top)
                        total += z[i, j]
                    for j in range(z.shape[1]):
                        z[i, j] /= total
            else:  # sigmoid: hidden layers, and the outputs of costs 0 and 1
                for i in range(mb):
                    for j in range(z.shape[1]):
                        z[i, j] = 1.0 / (1.0 + np.exp(-(z[i, j] + b[j])))
        # ---- output error, scaled by eta / |B|
        a = acts[last + 1][:mb]
        delta = deltas[last][:mb]
        scale = eta / mb
        for i in range(mb):
            row = order[start + i]
            for j in range(a.shape[1]):
                d = a[i, j] - Y[row, j]
                if cost == 1:
                    d = d * a[i, j] * (1.0 - a[i, j])
                delta[i, j] = d * scale
        # ---- backward and update, layers last..0; the first through its scale s
        for layer in range(last, -1, -1):
            delta = deltas[layer][:mb]
            a = acts[layer][:mb]
            w = weights[layer]
            n_o, n_i = w.shape
            if layer > 0:  # below = delta W times f'(z), before W changes
                below = deltas[layer - 1][:mb]
                _gemm(False, False, n_i, mb, n_o, 1.0, w, n_i, delta, n_o, 0.0, below, n_i)
                for i in range(mb):
                    for j in range(n_i):
                        below[i, j] *= a[i, j]
                        below[i, j] *= 1.0 - a[i, j]
            b = biases[layer]
            for i in range(mb):
                for j in range(n_o):
                    b[j] -= delta[i, j]
            if layer > 0:  # W <- decay W - delta^T a
                _gemm(False, True, n_i, n_o, mb, -1.0, a, n_i, delta, n_o, decay, w, n_i)
                continue
            s *= decay  # W_0 <- decay W_0 - delta^T x: s <- decay s, V_0 <- V_0 - delta^T x / s
            if not (limit < abs(s) < 1.0 / limit):
                if sparse:
                    for k in range(n_in):
                        for j in range(width):
                            v0[k, j] *= s
                else:
                    for j in range(n_out):
                        for k in range(n_in):
                            w0[j, k] *= s
                s = 1.0
            inv = 1.0 / s
            if not sparse:
                _gemm(False, True, n_in, n_out, mb, -inv, a, n_in, delta, n_out, 1.0, w0, n_in)
                continue
            dp = d0[:mb]
            for i in range(mb):
                for j in range(n_out):
                    dp[i, j] = delta[i, j] * inv
            for i in range(mb):
                row = order[start + i]
                for p in range(indptr[row], indptr[row + 1]):
                    k = indices[p]
                    x = data[p]
                    for j in range(width):
                        v0[k, j] -= x * dp[i, j]
    for j in range(n_out):  # fold the scale back: W_0 = s V_0
        for k in range(n_in):
            w0[j, k] = s * (v0[k, j] if sparse else w0[j, k])
