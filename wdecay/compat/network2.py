"""A drop-in replacement for Nielsen's ``network2.py`` (Python 3 port), on wdecay's engine.

Swap ``import network2`` for ``from wdecay.compat import network2``: the API,
printed lines, return values, random draws and numbers are those of network2,
but each mini-batch is one stack of matrix products instead of a loop over
examples.

What is reproduced, and two documented quirks:

- ``Network(sizes, cost)`` runs ``default_weight_initializer()``, which draws
  from numpy's global RNG: every layer's biases ``randn(out, 1)``, then every
  layer's weights ``randn(out, in) / sqrt(in)``. ``large_weight_initializer()``
  draws again, unscaled. ``load()`` builds a Network, so it draws too.
- ``SGD`` uses Python's ``random``: one ``random.shuffle`` per epoch of a private
  copy of the training list, reshuffled in place, so permutations compound.
  Mini-batches are ``data[k:k+m]``; the short last one is averaged over its own
  length. Update: ``w <- (1 - eta lmbda / n) w - (eta / len(batch)) sum dC_x/dw``.
- ``total_cost`` returns the mean cost plus ``0.5 (lmbda / len(data)) sum ||w||^2``:
  the penalty is normalised by the size of the set being evaluated, not the
  training-set size (``wdecay.Network.total_cost`` uses the training-set size).
  The widely used Python 3 port indents that line inside the loop, adding the
  term ``len(data)`` times; set ``PORT_TOTAL_COST_BUG = True`` (module) or
  ``net.port_total_cost_bug = True`` to reproduce that instead of the book.
- ``accuracy(data, convert=True)`` means one-hot labels (training data), while
  ``total_cost(data, lmbda, convert=True)`` means integer labels: the opposite
  conventions of the original.

Where it refuses what network2 took silently: ``SGD`` checks its arguments
first (eta finite and > 0, ``mini_batch_size`` an integer >= 1, training
pairs of (n_in, 1) columns and one-hot (n_out, 1) labels, evaluation pairs
with int labels), and raises :class:`wdecay.loop.TrainingDivergedError` when
the weights become NaN or inf instead of training on with them.

Limit: with large eta and large weights training is chaotic, and a different
order of floating-point summation (matrix products instead of a per-example
sum) makes results drift apart from network2.py after enough steps. At
eta = 0.1 the tests agree with a per-example implementation to 1e-9.
"""

from __future__ import annotations

import json
import numbers
import operator
import random

import numpy as np

from .. import costs as _costs
from ..activations import Sigmoid
from ..network import Network as _EngineNetwork
from ..regularizers import L2, NoRegularizer
from ..history import History
from ..loop import Run, TrainingDivergedError, parameters_finite, train_loop
from ..monitors.base import LambdaMonitor, MonitorList, TrainingState
from ..training import Step
from .._files import atomic_write
from .._validation import check_scalar

PORT_TOTAL_COST_BUG = False


class QuadraticCost:
    """C = 0.5 ||a - y||^2; delta = (a - y) sigma'(z)."""

    engine = _costs.QuadraticCost

    @staticmethod
    def fn(a, y):
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)

    @staticmethod
    def _fn_rows(A, Y):
        return 0.5 * np.sum((A - Y) ** 2, axis=1)


class CrossEntropyCost:
    """C = sum nan_to_num(-y ln a - (1 - y) ln(1 - a)); delta = a - y.

    ``nan_to_num`` turns a saturated wrong output's inf into 1.797e308, as in network2.
    """

    engine = _costs.CrossEntropyCost

    @staticmethod
    def fn(a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        return a - y

    @staticmethod
    def _fn_rows(A, Y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-Y * np.log(A) - (1 - Y) * np.log(1 - A)), axis=1)


_SHAPE = operator.attrgetter("shape")


def _all_shaped(arrays, shape):
    """True if every item's ``shape`` is ``shape`` (one C-level pass, no per-item Python).

    ``np.shape(a)`` is ``a.shape`` when ``a`` has one, so this is the per-item
    check's answer; False (or an item without ``shape``) means "look closer":
    the caller then runs its per-item check, which names the example.
    """
    try:
        return set(map(_SHAPE, arrays)) == {shape}
    except AttributeError:
        return False


def _all_labels(ys, n_out):
    """True if every item is an int class index (not bool, not an array) in [0, n_out)."""
    types = set(map(type, ys))
    return (all(issubclass(t, (numbers.Integral, np.integer))
                and not issubclass(t, (bool, np.bool_)) for t in types)
            and 0 <= min(ys) and max(ys) < n_out)


def _check_pairs(data, name, n_in, n_out, one_hot):
    """Refuse network2 data that would fail deep inside, or train on the wrong thing.

    Each item must be a pair ``(x, y)``: x an (n_in, 1) column; y a one-hot
    (n_out, 1) column if ``one_hot`` (training data), else an int class label
    in [0, n_out) (evaluation data). Returns the inputs and the labels, as two
    sequences. Whole-list checks first (C-level passes over types and shapes);
    the per-item scan that names the first bad example runs only if one fails.
    """
    try:
        xs, ys = zip(*data)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a list of (x, y) pairs, as network2 takes") from None
    if not _all_shaped(xs, (n_in, 1)):
        shapes = [np.shape(x) for x in xs]
        bad = next((i for i, s in enumerate(shapes) if s != (n_in, 1)), None)
        if bad is not None:
            raise ValueError(f"`{name}` inputs must be ({n_in}, 1) columns (the network's "
                             f"sizes[0] = {n_in}), got shape {shapes[bad]} in example {bad}")
    if one_hot:
        if _all_shaped(ys, (n_out, 1)):
            return xs, ys
        bad = next((i for i, y in enumerate(ys) if np.shape(y) != (n_out, 1)), None)
        if bad is not None:
            got = (f"the int label {ys[bad]!r}" if np.ndim(ys[bad]) == 0
                   else f"shape {np.shape(ys[bad])}")
            raise ValueError(
                f"`{name}` labels must be one-hot ({n_out}, 1) columns, as network2 trains on "
                f"(mnist_loader.vectorized_result(j)), got {got} in example {bad}; int labels "
                "belong to evaluation data")
        return xs, ys
    if _all_labels(ys, n_out):
        return xs, ys
    bad = next((i for i, y in enumerate(ys) if np.ndim(y) != 0 or isinstance(y, (bool, np.bool_))
                or not isinstance(y, (numbers.Integral, np.integer))
                or not 0 <= y < n_out), None)
    if bad is not None:
        y = ys[bad]
        got = (f"an array of shape {np.shape(y)} (one-hot?)" if np.ndim(y) else repr(y))
        raise ValueError(
            f"`{name}` labels must be int class indices in [0, {n_out - 1}], as network2 "
            f"evaluates on, got {got} in example {bad}; for one-hot columns pass "
            "int(np.argmax(y))")
    return xs, ys


def _shuffle_inline(x, getrandbits):
    """``random.Random.shuffle`` with its ``_randbelow`` inlined: the same draws, the same order."""
    for i in range(len(x) - 1, 0, -1):
        n = i + 1
        k = n.bit_length()
        j = getrandbits(k)
        while j >= n:
            j = getrandbits(k)
        x[i], x[j] = x[j], x[i]


def _inline_matches():
    """True if :func:`_shuffle_inline` gives this Python's ``Random.shuffle`` (checked once)."""
    if random.Random._randbelow is not random.Random._randbelow_with_getrandbits:
        return False
    for seed, size in ((0, 0), (1, 1), (2, 2), (3, 1000), (4, 4097)):
        a, b = list(range(size)), list(range(size))
        r, q = random.Random(seed), random.Random(seed)
        r.shuffle(a)
        _shuffle_inline(b, q.getrandbits)
        if a != b or r.random() != q.random():
            return False
    return True


_INLINE_OK = None
_RANDOM_SHUFFLE = random.Random.shuffle  # as imported: a later patch of it is not ours


def _shuffle(x):
    """``random.shuffle(x)``, consuming ``random`` exactly as it does, without its per-draw call.

    The inlined loop runs only for the module's own unpatched generator, on a
    Python whose ``shuffle`` it reproduces (:func:`_inline_matches`); otherwise
    ``random.shuffle`` itself.
    """
    global _INLINE_OK
    inst, sh = getattr(random, "_inst", None), random.shuffle
    if (type(inst) is random.Random and getattr(sh, "__self__", None) is inst
            and getattr(sh, "__func__", None) is _RANDOM_SHUFFLE
            and random.Random.shuffle is _RANDOM_SHUFFLE
            and "_randbelow" not in vars(inst) and "getrandbits" not in vars(inst)):
        if _INLINE_OK is None:
            _INLINE_OK = _inline_matches()
        if _INLINE_OK:
            _shuffle_inline(x, inst.getrandbits)
            return
    sh(x)


_ROW = operator.methodcaller("reshape", 1, -1)

#: ``np.concatenate`` without its ``__array_function__`` dispatch (numpy >= 1.25), or itself.
_CONCATENATE_IMPL = getattr(np.concatenate, "_implementation", np.concatenate)


def _concatenate_for(*sequences):
    """``np.concatenate``, or its implementation when every item is a plain ndarray.

    The dispatch only looks for ``__array_function__`` overrides, which plain
    ndarrays do not have; skipping it saves about 1 us of a step's two calls.
    """
    if all(set(map(type, seq)) == {np.ndarray} for seq in sequences):
        return _CONCATENATE_IMPL
    return np.concatenate


_DTYPE = operator.attrgetter("dtype")


def _rows(columns):
    """The columns stacked as the rows of one float64 array (ndarrays by a C-level map).

    ``columns`` are checked (d, 1) columns; float64 ndarrays go straight into
    the rows' transposed view, one C-level copy.
    """
    if set(map(type, columns)) == {np.ndarray}:
        if columns and set(map(_DTYPE, columns)) == {np.dtype(np.float64)}:
            out = np.empty((len(columns), len(columns[0])))
            np.concatenate(columns, axis=1, out=out.T)
            return out
        rows = list(map(_ROW, columns))
    else:
        rows = [np.reshape(c, (1, -1)) for c in columns]
    return np.concatenate(rows).astype(np.float64, copy=False)


def _columns_to_rows(xs, ys, one_hot):
    """Stack checked network2 inputs and labels: X (n, d), labels (n,), and targets if one-hot."""
    X = _rows(xs)
    if one_hot:
        Y = _rows(ys)
        return X, np.argmax(Y, axis=1), Y
    return X, np.fromiter(map(int, ys), dtype=np.intp, count=len(ys)), None


class Network:
    """network2's Network: column vectors, biases (out, 1), sigmoid layers."""

    def __init__(self, sizes, cost=CrossEntropyCost):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.default_weight_initializer()
        self.cost = cost

    def default_weight_initializer(self):
        """Weights N(0, 1/n_in), biases N(0, 1), from numpy's global RNG."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def large_weight_initializer(self):
        """Weights and biases N(0, 1), from numpy's global RNG."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    # -- the engine -------------------------------------------------------------
    def _engine(self):
        """A wdecay Network whose arrays are this network's arrays (biases as views)."""
        self.weights = [np.ascontiguousarray(w, dtype=np.float64) for w in self.weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float64).reshape(-1, 1)
                       for b in self.biases]
        engine = object.__new__(_EngineNetwork)
        engine.sizes = list(self.sizes)
        engine.cost = self.cost.engine()
        from ..initializers import DefaultWeightInitializer
        engine.activation, engine.initializer = Sigmoid(), DefaultWeightInitializer()
        engine.weights = self.weights
        engine.biases = [b.reshape(-1) for b in self.biases]
        return engine

    def _outputs(self, X):
        return self._engine().forward(X)[1][-1]

    def feedforward(self, a):
        """Output column(s) for input column(s) ``a`` of shape (n_in, 1) or (n_in, k)."""
        return self._outputs(np.asarray(a, dtype=np.float64).T).T

    # -- training ---------------------------------------------------------------
    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0,
            evaluation_data=None, monitor_evaluation_cost=False,
            monitor_evaluation_accuracy=False, monitor_training_cost=False,
            monitor_training_accuracy=False, early_stopping_n=0):
        """Mini-batch SGD as in network2; returns the four per-epoch lists.

        Unlike network2, bad arguments raise a one-line error first (``eta`` must be
        finite and > 0, ``mini_batch_size`` an integer >= 1, the data as
        :func:`_check_pairs` says), and weights that become NaN or inf raise
        :class:`wdecay.loop.TrainingDivergedError` at the end of that epoch instead
        of training on.
        """
        check_scalar(epochs, "epochs", kind=numbers.Integral, low=0)
        check_scalar(mini_batch_size, "mini_batch_size", kind=numbers.Integral, low=1)
        check_scalar(eta, "eta", low=0, inclusive=False)
        check_scalar(lmbda, "lmbda", low=0)
        training_data = list(training_data)
        n = len(training_data)
        if n == 0:
            raise ValueError("`training_data` is empty")
        xs, ys = _check_pairs(training_data, "training_data", self.sizes[0], self.sizes[-1],
                              True)
        if early_stopping_n > 0 and not (monitor_evaluation_accuracy or monitor_training_accuracy):
            raise ValueError("early_stopping_n needs monitor_evaluation_accuracy or "
                             "monitor_training_accuracy")
        if monitor_training_cost or monitor_training_accuracy:
            X, labels, Y = _columns_to_rows(xs, ys, one_hot=True)
        if evaluation_data:
            evaluation_data = list(evaluation_data)
            pairs = _check_pairs(evaluation_data, "evaluation_data", self.sizes[0],
                                 self.sizes[-1], False)
            n_data = len(evaluation_data)
            X_eval, labels_eval, _ = _columns_to_rows(*pairs, one_hot=False)
            Y_eval = np.eye(self.sizes[-1])[labels_eval]
        regularizer = L2(lmbda) if lmbda else NoRegularizer()
        engine = self._engine()
        step = Step(engine, min(mini_batch_size, n), eta=eta, n=n, regularizer=regularizer)
        order = list(range(n))
        best = {"accuracy": 0, "no_change": 0}
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []

        def permute():
            _shuffle(order)  # consumes `random` exactly as shuffling the data list
            return order

        x_at, y_at, step_run = xs.__getitem__, ys.__getitem__, step.run
        concatenate = _concatenate_for(xs, ys)
        columns = {}  # per batch size: the input and target buffers as columns

        def run_epoch(order, epoch):
            for k in range(0, n, mini_batch_size):
                # stack this mini-batch's columns into the step's input rows
                batch = order[k:k + mini_batch_size]
                m = len(batch)
                cols = columns.get(m)
                if cols is None:
                    cols = columns[m] = tuple(a.T for a in step.load_batch(m))
                inputs, targets = cols
                concatenate([*map(x_at, batch)], 1, inputs)  # axis 1, out: the columns
                concatenate([*map(y_at, batch)], 1, targets)
                step_run(m)

        def report(state):
            print("Epoch %s training complete" % (state.epoch - 1))
            accuracy = None
            if monitor_training_cost:
                cost = self._total_cost(X, Y, lmbda)
                training_cost.append(cost)
                print("Cost on training data: {}".format(cost))
            if monitor_training_accuracy:
                accuracy = self._accuracy(X, labels)
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, n))
            if monitor_evaluation_cost:
                cost = self._total_cost(X_eval, Y_eval, lmbda)
                evaluation_cost.append(cost)
                print("Cost on evaluation data: {}".format(cost))
            if monitor_evaluation_accuracy:
                accuracy = self._accuracy(X_eval, labels_eval)
                evaluation_accuracy.append(accuracy)
                print("Accuracy on evaluation data: {} / {}".format(accuracy, n_data))
            if early_stopping_n > 0:
                if accuracy > best["accuracy"]:
                    best["accuracy"], best["no_change"] = accuracy, 0
                else:
                    best["no_change"] += 1
                state.stop_training = best["no_change"] == early_stopping_n

        def check_finite(epoch):
            if not parameters_finite(engine):
                raise TrainingDivergedError(
                    f"SGD diverged in epoch {epoch - 1}: the weights became NaN or inf "
                    f"(network2 would train on with them); use a smaller eta (got eta={eta!r})",
                    history)

        # network2's loop is wdecay's loop, without an epoch-0 record
        history = History()
        state = TrainingState(engine, eta=eta, regularizer=regularizer, batch_size=mini_batch_size,
                              n=n, history=history,
                              train_data=(np.empty((0, self.sizes[0])), np.empty(0, np.intp)))
        run = Run(MonitorList([LambdaMonitor(on_epoch_end=report)]), state, history)
        train_loop([run], first=1, epochs=epochs, permute=permute, run_epoch=run_epoch,
                   check_finite=check_finite)
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    # -- evaluation -------------------------------------------------------------
    def _accuracy(self, X, labels):
        return int(np.count_nonzero(np.argmax(self._outputs(X), axis=1) == labels))

    def _total_cost(self, X, Y, lmbda):
        n = len(X)
        cost = float(np.sum(self.cost._fn_rows(self._outputs(X), Y) / n))
        term = 0.5 * (lmbda / n) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        repeats = n if getattr(self, "port_total_cost_bug", PORT_TOTAL_COST_BUG) else 1
        return cost + repeats * term

    def accuracy(self, data, convert=False):
        """Number of examples classified correctly; ``convert=True`` for one-hot labels."""
        data = list(data)
        pairs = _check_pairs(data, "data", self.sizes[0], self.sizes[-1], one_hot=convert)
        X, labels, _ = _columns_to_rows(*pairs, one_hot=convert)
        return self._accuracy(X, labels)

    def total_cost(self, data, lmbda, convert=False):
        """Mean cost plus 0.5 (lmbda / len(data)) sum ||w||^2; ``convert=True`` for int labels."""
        data = list(data)
        pairs = _check_pairs(data, "data", self.sizes[0], self.sizes[-1], one_hot=not convert)
        X, labels, Y = _columns_to_rows(*pairs, one_hot=not convert)
        if convert:
            Y = np.eye(self.sizes[-1])[labels]
        return self._total_cost(X, Y, lmbda)

    # -- files and bridges ------------------------------------------------------
    def save(self, filename):
        """Save as network2's JSON (atomically)."""
        data = {"sizes": self.sizes, "weights": [np.asarray(w).tolist() for w in self.weights],
                "biases": [np.asarray(b).tolist() for b in self.biases],
                "cost": str(self.cost.__name__)}
        atomic_write(filename, json.dumps(data).encode())

    def to_wdecay(self):
        """A ``wdecay.Network`` with copies of this network's weights and biases."""
        return self._engine().copy()


def from_wdecay(net):
    """A network2 ``Network`` with copies of a sigmoid ``wdecay.Network``'s parameters.

    Draws nothing from the global RNG.
    """
    if type(net.activation) is not Sigmoid:
        raise ValueError(f"network2 has sigmoid hidden units only, got {net.activation!r}")
    costs = {cls.engine: cls for cls in (CrossEntropyCost, QuadraticCost)}
    if type(net.cost) not in costs:
        raise ValueError(f"network2 has no {net.cost!r} cost; "
                         "use 'cross-entropy' or 'quadratic'")
    out = object.__new__(Network)
    out.num_layers, out.sizes, out.cost = len(net.sizes), list(net.sizes), costs[type(net.cost)]
    out.weights = [w.copy() for w in net.weights]
    out.biases = [b.reshape(-1, 1).copy() for b in net.biases]
    return out


def load(filename):
    """Load a network saved by ``Network.save`` (draws from the RNG, as network2 does).

    Unlike network2, which did ``getattr(module, data["cost"])``, only the cost
    classes are accepted: ``"QuadraticCost"`` or ``"CrossEntropyCost"``. The
    declared ``sizes`` are checked against the stored weights and biases
    before the network is built, so a small file cannot make it allocate
    huge layers. Bad files raise ``ValueError`` naming the file.
    """
    from ..serialization import SizeMismatch, check_nested_sizes, declared_sizes

    costs = {cls.__name__: cls for cls in (QuadraticCost, CrossEntropyCost)}
    name = repr(str(filename))
    try:
        with open(filename) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("the JSON is not an object")
        sizes = declared_sizes(data, name)
        check_nested_sizes(data["weights"], data["biases"], sizes, name)
        weights = [np.array(w, dtype=float) for w in data["weights"]]
        biases = [np.array(b, dtype=float).reshape(-1, 1) for b in data["biases"]]
    except SizeMismatch as exc:
        raise ValueError(str(exc)) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"cannot read a network from {name}: the file is corrupt or not a "
                         f"saved network ({type(exc).__name__}: {exc})") from None
    cost_name = data.get("cost")
    if not isinstance(cost_name, str) or cost_name not in costs:
        raise ValueError(f"{name}: `cost` must be one of {sorted(costs)}, got {cost_name!r}")
    net = Network(sizes, cost=costs[cost_name])
    net.weights = weights
    net.biases = biases
    return net


def vectorized_result(j):
    """A (10, 1) unit vector with 1.0 in position ``j``."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


def sigmoid(z):
    """The sigmoid function."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))
