"""Command line: ``wdecay experiment`` and ``wdecay path``.

``wdecay experiment`` trains the book's weight-decay experiment (defaults:
sizes 784 30 10, large initializer, cross-entropy, L2 lmbda=5, eta=0.1,
mini-batch 10, 30 epochs, seed 0, the embedded MNIST sample) with every
diagnostic on, and says what decay did. ``wdecay path`` solves the convex
case (no hidden layer) exactly along a grid of lmbda.

Every failure is one ``wdecay: error: ...`` line on stderr with exit code 2;
Ctrl-C exits with 130 after keeping the finished epochs. Every argument is
checked, and the data loaded, before any file is written, and no earlier result
is replaced without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import math
import os
import sys
import warnings

import numpy as np

from . import __version__
from . import config
from . import experiment as E
from . import runfolder
from ._files import atomic_write
from ._json import dumps
from .activations import ACTIVATIONS
from .costs import COSTS
from .history import History
from .initializers import INITIALIZERS
from .monitors.base import MonitorError
from .optim import OPTIMIZERS, declaration
from .regularizers import REGULARIZERS
from .registry import declared, describe, parse, reserve
from .report import BOOK_LMBDA, BOOK_LMBDA_OVER_N, BOOK_N
from .summary import summarize, summary_text
from .training import TrainingDivergedError

DESCRIPTION = ("wdecay: train Nielsen-style sigmoid networks with L2 or L1 weight decay, "
               "and see what decay does to the weights.")
EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


class CLIError(Exception):
    """A failure the command line reports as one line."""


class Interrupted(Exception):
    """Ctrl-C, after the finished epochs were kept; the message says what was kept."""


class _Parser(argparse.ArgumentParser):
    """argparse, with errors as one ``wdecay: error:`` line."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


class _Output:
    """A stream that survives a closed pipe (``wdecay ... | head``): later writes vanish.

    The run goes on and still writes its files; stdout is pointed at /dev/null
    so that Python's final flush does not fail either.
    """

    def __init__(self, stream):
        self.stream, self.broken = stream, False

    def _closed(self):
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, AttributeError, ValueError):  # not a real file: nothing to redirect
            pass

    def write(self, text):
        if not self.broken:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def flush(self):
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._closed()

    def isatty(self):
        return not self.broken and getattr(self.stream, "isatty", lambda: False)()


# -- parsing -------------------------------------------------------------------
def _choices(registry):
    return sorted(registry)


def _sizes(words):
    """``["784", "30", "10"]`` or ``["784,30,10"]`` -> ``[784, 30, 10]``."""
    parts = [p for w in words for p in w.replace(",", " ").split()]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise CLIError(f"argument --sizes: expected positive integers such as '784 30 10' or "
                       f"'784,30,10', got {' '.join(words)!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise CLIError(f"argument --sizes: expected at least 2 positive layer sizes, got {sizes}")
    return sizes


def _common(parser):
    parser.add_argument("--dataset", nargs="+", default=None, metavar=("NAME", "PATH"),
                        help="the data: 'mnist-sample' (5,000 digits shipped with wdecay; the "
                             "default), 'mnist [PATH]' (Nielsen's mnist.pkl.gz or a folder of the "
                             "four IDX files; without PATH the usual places are searched) or "
                             "'fashion-mnist [PATH]' (an IDX folder; default: Debian's package)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="write the results and report.html into DIR (default: write no "
                             "files); DIR must not hold earlier results unless --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the earlier results in --out DIR (default: refuse)")
    parser.add_argument("--no-plot", action="store_true",
                        help="write no PNG plots (default: plot when matplotlib is installed)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the summary, not the per-epoch or per-lmbda table")
    parser.add_argument("--format", choices=["table", "json"], default="table",
                        help="'table' (default): readable text; 'json': the summary as strict "
                             "JSON (NaN and inf as null)")


def build_parser():
    d = E.DEFAULTS
    parser = _Parser(prog="wdecay", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"wdecay {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{experiment,path}")
    exp = sub.add_parser(
        "experiment", help="train a network and report what weight decay did",
        description="Train a network with every diagnostic on and report what weight decay "
                    "did to its weights. The defaults are the book's chapter 3 experiment. "
                    "With --out, the model is checkpointed after every epoch; Ctrl-C keeps the "
                    "finished epochs, and --resume DIR continues the run exactly.")
    _common(exp)
    exp.add_argument("--resume", metavar="DIR", default=None,
                     help="continue the runs in DIR (written by --out DIR) from their last "
                          "checkpoints, with the settings stored there; only --epochs (a new "
                          "total), --quiet, --format, --no-plot and --overwrite (train a run "
                          "whose checkpoint is gone again from epoch 0) may be given with it "
                          "(default: start a new experiment)")
    exp.add_argument("--predict", action="store_true",
                     help="before training, predict each layer's plateau RMS and tail-off "
                          "epoch (a stationary point of C0 + penalty balanced with SGD's "
                          "noise: a few seconds on the sample) and compare them with the run "
                          "(default: no prediction)")
    exp.add_argument("--explain", action="store_true",
                     help="print the definitions of R, kappa and the tail-off notions with the "
                          "summary (default: the summary only)")
    exp.add_argument("--sizes", nargs="+", default=None, metavar="N",
                     help=f"units per layer, input first: '784 30 10' or '784,30,10' "
                          f"(default: {' '.join(map(str, d['sizes']))})")
    exp.add_argument("--init", choices=_choices(INITIALIZERS), default=None,
                     help=f"initial weights: 'large' N(0, 1), the book's experiment, or "
                          f"'default' N(0, 1/n_in) (default here: {d['init']}; note that the "
                          f"Python wdecay.Network's default is 'default')")
    exp.add_argument("--cost", choices=_choices(COSTS), default=None,
                     help=f"the cost C0 (default: {d['cost']})")
    exp.add_argument("--activation", choices=_choices(ACTIVATIONS), default=None,
                     help=f"hidden units (default: {d['activation']})")
    exp.add_argument("--regularizer", choices=_choices(REGULARIZERS), default=None,
                     help=f"the weight penalty: l2 (lmbda/2n) sum w^2, l1 (lmbda/n) sum |w|, or "
                          f"none (default: {d['regularizer']})")
    exp.add_argument("--lmbda", type=float, nargs="+", default=None, metavar="X",
                     help=f"the penalty's lmbda (see --regularizer; n is the training-set size); "
                          f"several values are compared (default: {d['lmbda']:g})")
    exp.add_argument("--eta", type=float, default=None,
                     help=f"learning rate (default: {d['eta']:g})")
    exp.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None,
                     help="sgd: Nielsen's update; momentum, nesterov: SGD with momentum and "
                          "coupled L2 (PyTorch's SGD(momentum, weight_decay)); adam: coupled "
                          "L2; adamw: decoupled decay (PyTorch's AdamW); lion: sign steps, "
                          "decoupled decay; see "
                          f"docs/optimizers.rst (default: {d['optimizer']})")
    exp.add_argument("--momentum", type=float, default=None, metavar="MU",
                     help=f"momentum of --optimizer momentum or nesterov, {_range('momentum')} "
                          f"(default: {d['momentum']:g})")
    exp.add_argument("--beta1", type=float, default=None,
                     help=f"Adam's (and Lion's) first-moment decay rate, {_range('beta1')} (default: "
                          f"{_defaults_text('beta1')})")
    exp.add_argument("--beta2", type=float, default=None,
                     help=f"Adam's second-moment decay rate (Lion's second interpolation), "
                          f"{_range('beta2')} (default: {_defaults_text('beta2')})")
    _declared_options(exp)
    exp.add_argument("--batch-size", type=int, default=None, metavar="M",
                     help=f"mini-batch size (default: {d['batch_size']})")
    exp.add_argument("--epochs", type=int, default=None, metavar="K",
                     help=f"epochs to train (default: {d['epochs']}); with --resume, the new "
                          "total")
    exp.add_argument("--seed", "--seeds", dest="seed", type=int, nargs="+", default=None,
                     metavar="S",
                     help=f"seed of the initial weights and the mini-batch order; several "
                          f"seeds are compared (default: {d['seed']})")
    path = sub.add_parser(
        "path", help="exact convex optima along a grid of lmbda",
        description="Solve logistic (two digits) or softmax (ten digits) regression, a network "
                    "without hidden layer, exactly for each lmbda of a grid, and show how the "
                    "weights shrink as lmbda grows.")
    _common(path)
    path.add_argument("--digits", type=int, nargs=2, default=None, metavar=("A", "B"),
                      help="a binary task: digit A (target 0) against digit B (target 1); two "
                           "different digits 0-9 (default: 3 8)")
    path.add_argument("--multiclass", action="store_true",
                      help="all ten digits, softmax regression (not with --digits)")
    path.add_argument("--penalty", choices=["l2", "l1"], default="l2",
                      help="l2: (lmbda/2n) sum w^2; l1: (lmbda/n) sum |w| (default: l2)")
    path.add_argument("--n-lmbdas", type=int, default=20, metavar="K",
                      help="grid size: K values log-spaced from lmbda_max down to 1e-4 of it, "
                           "or further down to lmbda = 5 (wdecay experiment's) when that is "
                           "lower; 5 is always on the grid (default: 20)")
    path.add_argument("--lmbdas", type=float, nargs="+", default=None, metavar="X",
                      help="the grid itself, positive values, instead of --n-lmbdas (default: the "
                           "--n-lmbdas grid)")
    return parser


#: The options of ``wdecay experiment`` that are no setting of a run: no class may declare
#: a setting of these names (its option would be one of them).
CLI_OPTIONS = ("help", "version", "command", "out", "overwrite", "no_plot", "quiet", "format",
               "resume", "predict", "explain")
reserve(CLI_OPTIONS, "an option of wdecay experiment")


def _declared_options(exp):
    """An option ``--NAME`` for each setting a registered class declares that has none yet.

    So a regularizer, optimizer, initializer or cost registered outside wdecay
    (its ``name`` and ``hyperparameters``) is chosen and set from the command
    line like L2's lmbda; the help says what the setting's constraint allows.
    """
    have = {a.dest for a in exp._actions}
    for key, constraint in config.class_settings().items():
        if key in have:
            continue
        owners = [f"--{family} {name}" for family, name, _ in _owners(key)]
        exp.add_argument(f"--{key.replace('_', '-')}", dest=key, type=parse(constraint),
                         default=None, metavar="X",
                         help=f"setting {key} of {' and '.join(owners)} ({describe(constraint)}; "
                              f"default: {_defaults_text(key)})")


def _range(key):
    """What setting ``key``'s declared constraint allows: ``in [0, 1)``."""
    return describe(config.constraint(key)).replace("a real number ", "").replace(
        "an integer ", "")


def _owners(key):
    """``(family, name, default)`` of every registered class that declares setting ``key``."""
    return [(family, name, entry.hyperparameters[key][1])
            for family in config.FAMILIES
            for name, entry in config.FAMILIES[family].items()
            if key in getattr(entry, "hyperparameters", {})]


def _defaults_text(key):
    """``0.9`` when every class declaring ``key`` says so, else ``adam, adamw: 0.999; lion: 0.99``."""
    said = {}
    for _, name, default in _owners(key):
        said.setdefault("none: give it" if default is None else f"{default:g}", []).append(name)
    if len(said) == 1:
        return next(iter(said))
    return "; ".join(f"{', '.join(names)}: {value}" for value, names in said.items())


def _class_options():
    """The options of the classes' settings (lmbda, momentum, ...): any registered class's."""
    return list(config.class_settings())


def load_dataset(spec):
    """``(DataSplits, name)`` for a ``--dataset`` value (a list of words); errors name the value.

    ``name`` says which data set it is and where it came from, for the run's header.
    """
    try:
        return _load_dataset(spec)
    except CLIError:
        raise
    except (ValueError, TypeError, OSError, EOFError) as exc:
        raise CLIError(f"--dataset {' '.join(spec)}: {_one_line(exc)}") from exc


SAMPLE_NAME = "the MNIST sample shipped with wdecay (5,000 real MNIST digits)"


def _load_dataset(spec):
    from . import datasets

    name, rest = spec[0], spec[1:]
    if len(rest) > 1 or (name == "mnist-sample" and rest):
        raise CLIError(f"argument --dataset: {name!r} takes "
                       f"{'no PATH' if name == 'mnist-sample' else 'at most one PATH'}, "
                       f"got {' '.join(spec)!r}")
    if name == "mnist-sample":
        return datasets.load_mnist_sample(), SAMPLE_NAME
    if name == "mnist":
        if rest:
            return datasets.load_mnist(rest[0]), f"MNIST from {rest[0]}"
        return _find_mnist()
    if name == "fashion-mnist":
        from .datasets.files import FASHION_MNIST_DIR

        return (datasets.load_fashion_mnist(rest[0] if rest else None),
                f"Fashion-MNIST from {rest[0] if rest else FASHION_MNIST_DIR}")
    raise CLIError(f"argument --dataset: unknown data set {name!r}; choose mnist-sample, "
                   "mnist [PATH] or fashion-mnist [PATH]")


def _find_mnist():
    """``--dataset mnist`` without PATH: Nielsen's pickle where wdecay looks, else an offline cache."""
    from . import datasets
    from .datasets import offline

    try:
        return datasets.load_mnist(None), "MNIST (Nielsen's mnist.pkl.gz)"
    except FileNotFoundError:
        pickles = datasets.data_locations()
    try:
        return offline.find_offline_mnist()
    except FileNotFoundError:
        raise CLIError(f"--dataset mnist: no MNIST on this machine (looked for mnist.pkl.gz in "
                       f"{', '.join(pickles)}; for Keras's, torchvision's and scikit-learn's "
                       f"copies in {', '.join(offline.places())}); get it with: "
                       f"{offline.GET_MNIST}") from None


def _plots_available(args):
    if args.no_plot:
        return False
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _warn('no plots: matplotlib is missing (pip install "wdecay[plot]")')
        return False
    return True


def _warn(message):
    print(f"wdecay: warning: {message}", file=sys.stderr)


def _number(value):
    """A float's shortest exact text, without a trailing ".0": ``float(_number(x)) == x``.

    ``repr`` of a float is the shortest text that reads back as the same float,
    so names are unique and reversible: 1 -> "1", 1.000001 -> "1.000001".
    """
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


# -- output folders --------------------------------------------------------------
PATH_FILES = ("path.json", "report.html", "coefficient_paths.png", "path_norm.png",
              "path_costs.png")
RUN_FILES = ("history.csv", "history.json", "summary.json", "model.json", "layer_norms.png",
             "sum_vs_abs.png", "norm_budget.png", runfolder.CHECKPOINT_ENTRY)


def _planned(runs):
    """The files ``wdecay experiment`` writes for ``runs``, relative to --out (``/``-separated)."""
    files = {"run.json", "report.html"}
    if len(runs) > 1:
        layers = len(runs[0][2]["sizes"]) - 1
        files |= {"overlay_layer1_rms.png", f"overlay_layer{layers}_rms.png"}
    for _, folder, _ in runs:
        files |= {n if folder == "." else f"{folder}/{n}" for n in RUN_FILES}
    return sorted(files)


def _check_out(out, overwrite, planned=PATH_FILES):
    """Refuse a file, or a folder with earlier results (unless ``overwrite``); write nothing.

    The earlier results are the files the folder's manifest says wdecay wrote
    and the files this command would replace (``planned``): exactly what
    ``--overwrite`` deletes.
    """
    if out is None:
        return
    if os.path.islink(out) and not os.path.exists(out):
        raise CLIError(f"--out {out}: a symbolic link that leads nowhere (a loop, or to a "
                       "missing folder); name a folder")
    if os.path.exists(out) and not os.path.isdir(out):
        raise CLIError(f"--out {out}: a file of that name exists; name a folder")
    if not os.path.isdir(out):
        return
    for folder in sorted({p.split("/")[0] for p in planned if "/" in p}):
        if os.path.islink(os.path.join(out, folder)):
            raise CLIError(f"--out {out}: its run folder {folder} is a symbolic link; wdecay "
                           "writes only inside the folder it is given")
    earlier = _results_in(out, planned)
    if earlier and not overwrite:
        raise CLIError(f"--out {out} holds earlier results ({', '.join(earlier)}); pass "
                       f"--overwrite to delete them, or --resume {out} to continue an "
                       "interrupted experiment")


def _results_in(out, planned):
    """The files of ``out``'s manifest and of ``planned`` that exist, relative to ``out``."""
    try:
        return runfolder.existing(out, sorted(set(runfolder.read_manifest(out)) | set(planned)))
    except ValueError as exc:
        raise CLIError(f"--out {out}: {exc}") from None


def _clear(out, planned=PATH_FILES):
    """Delete the results listed by :func:`_check_out` (after --overwrite was given)."""
    runfolder.remove(out, _results_in(out, planned))


def _record(out, planned):
    """Note ``planned`` in ``out``'s manifest before any of them is written."""
    runfolder.record(out, planned)


def _check_restart(out, title, folder):
    """Refuse to start a run again from epoch 0 whose checkpoint is gone but history is not."""
    path = os.path.join(folder, "history.csv")
    if not os.path.lexists(path):
        return
    try:
        last = max((r.get("epoch", 0) for r in History.from_csv(path)), default=0)
    except (ValueError, OSError) as exc:
        raise CLIError(f"--resume {out}: {_one_line(exc)}") from None
    if last >= 1:
        raise CLIError(f"--resume {out}: {title} has no checkpoint-epoch<k>.npz, but {path} "
                       f"records epochs 0-{last}; restore the checkpoint, or pass --overwrite "
                       "to train it again from epoch 0 (its history is then replaced)")


def _write_report(path, runs, overlays=None):
    """``report.write_html`` with run dicts."""
    from .report import write_html

    write_html(path, runs, overlays)


# -- wdecay experiment -------------------------------------------------------------
def _given(args, name):
    return getattr(args, name) is not None


def _plan(args):
    """The runs to do: ``(dataset words, [(title, folder, settings), ...])``, all checked."""
    d = E.DEFAULTS
    if args.resume:
        return _resume_plan(args)
    sizes = _sizes(args.sizes) if _given(args, "sizes") else list(d["sizes"])
    base = {"sizes": sizes}
    for key in ("init", "cost", "activation", "regularizer", "eta", "batch_size", "epochs",
                "optimizer"):
        base[key] = d[key] if getattr(args, key) is None else getattr(args, key)
    for key in _class_options():  # the classes' settings; check_settings fills the others
        if key != "lmbda" and _given(args, key):
            base[key] = getattr(args, key)
    takes = {family: declared(config.FAMILIES[family].lookup(base[family]))
             for family in config.FAMILIES}
    for option in _class_options():
        if option != "lmbda" and _given(args, option) and not any(
                option in own for own in takes.values()):
            family = next(f for f, r in config.FAMILIES.items() if option in r.settings())
            _warn(f"--{option.replace('_', '-')} is ignored with --{family} {base[family]}")
    lmbdas = args.lmbda if _given(args, "lmbda") else [d["lmbda"]]
    seeds = args.seed if _given(args, "seed") else [d["seed"]]
    for name, values in (("--lmbda", lmbdas), ("--seed", seeds)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise CLIError(f"argument {name}: {', '.join(map(str, repeated))} given twice")
    if base["regularizer"] == "none":
        if _given(args, "lmbda"):
            _warn("--lmbda is ignored with --regularizer none: there is no weight decay")
        lmbdas = [0.0]
    elif "lmbda" not in takes["regularizer"]:  # its own settings say how strong it is
        if _given(args, "lmbda"):
            _warn(f"--lmbda is ignored with --regularizer {base['regularizer']}: it takes "
                  + (", ".join(f"--{k.replace('_', '-')}" for k in takes["regularizer"])
                     or "no settings"))
        lmbdas = [None]
    elif any(l == 0 for l in lmbdas):
        _warn("lmbda=0: no weight decay in that run")
    runs = []
    several = len(lmbdas) * len(seeds) > 1
    for lmbda in lmbdas:
        for seed in seeds:
            settings = E.check_settings({**base, **({} if lmbda is None else {"lmbda": lmbda}),
                                         "seed": seed})
            name = "_".join(([] if lmbda is None else [f"lmbda={_number(lmbda)}"])
                            + ([f"seed={seed}"] if len(seeds) > 1 else []))
            title = name.replace("_", ", ")
            runs.append((title, name if several else ".", settings))
    advice = declaration(E.make_optimizer(runs[0][2]), "advised_eta")
    if advice is not None and base["eta"] == d["eta"]:
        _warn(f"--optimizer {base['optimizer']} with eta = {base['eta']:g}, plain SGD's step: "
              f"{advice.why}; try --eta {advice.eta:g}"
              + (f" (see {advice.see})" if advice.see else ""))
    return list(args.dataset or ["mnist-sample"]), runs


def _resume_plan(args):
    allowed = {"epochs"}
    for name in ("sizes", "init", "cost", "activation", "regularizer", "lmbda", "eta",
                 "batch_size", "seed", "optimizer", *_class_options()):
        if _given(args, name) and name not in allowed:
            raise CLIError(f"--resume takes the settings stored in {args.resume}; drop "
                           f"--{name.replace('_', '-')}")
    if args.out is not None:
        raise CLIError("--resume DIR writes into DIR; drop --out")
    if args.dataset is not None:
        raise CLIError(f"--resume takes the data set stored in {args.resume}; drop --dataset")
    stored = os.path.join(args.resume, "run.json")
    if not os.path.lexists(stored):
        raise CLIError(f"--resume {args.resume}: no run.json there; it is not an experiment "
                       "written by 'wdecay experiment --out'")
    import json

    from ._files import read_regular

    try:
        data = json.loads(read_regular(stored, 1 << 24).decode("utf-8"))
        dataset, entries = list(data["dataset"]), data["runs"]
        runs = [(e["title"], e["folder"], E.check_settings(
            {**e["settings"], **({"epochs": args.epochs} if _given(args, "epochs") else {})}))
            for e in entries]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CLIError(f"{stored} is not a valid wdecay run.json ({type(exc).__name__}: "
                       f"{exc})") from None
    folders = [f for _, f, _ in runs]
    for folder in folders:  # resume writes only inside DIR, whatever run.json says
        try:
            runfolder.run_folder(args.resume, folder)
        except ValueError as exc:
            raise CLIError(f"--resume {args.resume}: {exc}") from None
        if folders.count(folder) > 1:
            raise CLIError(f"--resume {args.resume}: run.json names the run folder {folder!r} "
                           "twice; two runs never share a folder")
    return dataset, runs


def _check_data(splits, settings, predict=False):
    (X, y), _, _ = splits
    sizes = settings["sizes"]
    if sizes[0] != X.shape[1]:
        raise CLIError(f"argument --sizes: the first layer must have the data's {X.shape[1]} "
                       f"inputs, got {sizes[0]}")
    classes = int(np.max(y)) + 1
    if sizes[-1] < classes:
        raise CLIError(f"argument --sizes: the last layer must have at least the data's "
                       f"{classes} classes, got {sizes[-1]}")
    if predict:
        try:
            E.check_predict(settings)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    if E.make_optimizer(settings).decoupled:  # only decoupled decay multiplies by the factor
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fit warns once, when it trains
            try:
                E.make_regularizer(settings["regularizer"], settings).factor(
                    settings["eta"], len(X))
            except ValueError as exc:
                raise CLIError(str(exc)) from None


FULL_SIZE_COMMAND = ("apt-get install dataset-fashion-mnist && "
                     "wdecay experiment --dataset fashion-mnist")
"""The book's n in one command (Debian or Ubuntu; ``--dataset mnist`` where MNIST is at hand)."""


def _sci(x):
    """A short number: ``1.25e-3``, ``1e-4``, ``0.4``, ``12.5``."""
    if x == 0 or 1e-2 <= abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _ratio_text(lmbda, n):
    ratio = lmbda / n / BOOK_LMBDA_OVER_N
    if math.isclose(ratio, 1.0, rel_tol=1e-9):
        return f"lmbda/n = {_sci(lmbda / n)}, the book's"
    return f"lmbda/n = {_sci(lmbda / n)}, {ratio:.3g}x the book's {_sci(BOOK_LMBDA_OVER_N)}"


def experiment_header(dataset_name, splits, runs):
    """The lines printed before training: the data set, both names of each layer, and lmbda/n.

    lmbda/n is set against the book's (lmbda = 5 on n = 50,000, i.e. 1e-4), with
    the reason a smaller sample cannot match both the book's per-epoch decay
    and its lmbda/n: under L2, pure decay scales the weights by
    (1 - eta lmbda/n)^(n/m) ~ e^(-eta lmbda/m) per epoch, whatever n is.

    Examples
    --------
    >>> from wdecay.experiment import DEFAULTS
    >>> X, y = np.zeros((4000, 784)), np.zeros(4000, int)
    >>> lines = experiment_header("a sample", ((X, y), (X[:500], y[:500]), (X[:500], y[:500])),
    ...                           [("lmbda=5", ".", {**DEFAULTS, "n_train": 4000})])
    >>> print(lines[1])
    Layers: layer 1 (the book's w^2, 784 -> 30), layer 2 (the book's w^3, 30 -> 10)
    >>> print(lines[3])
    Decay:  L2 on n = 4,000: lmbda = 5, lmbda/n = 1.25e-3, 12.5x the book's 1e-4 (lmbda = 5 on n = 50,000)
    """
    from .naming import layer_label

    (X, _), (X_val, _), (X_test, _) = splits
    n = len(X)
    s = runs[0][2]
    sizes = s["sizes"]
    lines = [f"Data:   {dataset_name}: n = {n:,} training, {len(X_val):,} validation, "
             f"{len(X_test):,} test images",
             "Layers: " + ", ".join(layer_label(l, sizes) for l in range(1, len(sizes))),
             "        (the book counts the input as neuron layer 1, so wdecay's layer l is the "
             "book's w^(l+1), the weights into its layer l+1)"]
    lmbdas = [l for l in dict.fromkeys(r[2]["lmbda"] for r in runs) if l]
    regularizer = s["regularizer"]
    own = config.REGULARIZER_SETTINGS[regularizer.lower()]
    penalty = E.make_regularizer(regularizer, s)
    if "lmbda" not in own and penalty.lmbda != 0:  # its own settings say how strong it is
        said = penalty.settings() or ({} if penalty.lmbda is None else {"lmbda": penalty.lmbda})
        lines.append(f"Decay:  {regularizer.upper()} on n = {n:,}"
                     + "".join(f"{', ' if i else ': '}{k} = {v:g}"
                               for i, (k, v) in enumerate(said.items())))
        return lines
    if regularizer == "none" or not lmbdas:
        lines.append("Decay:  none in this run")
        return lines
    lines.append(f"Decay:  {regularizer.upper()} on n = {n:,}: "
                 + "; ".join(f"lmbda = {l:g}, {_ratio_text(l, n)}" for l in lmbdas)
                 + f" (lmbda = {BOOK_LMBDA:g} on n = {BOOK_N:,})")
    if regularizer == "l2" and n != BOOK_N:
        eta, m = s["eta"], s["batch_size"]

        def per_epoch(lmbda):
            return (1 - eta * lmbda / n) ** math.ceil(n / m)

        others = "; ".join(f"lmbda = {l:g}: {per_epoch(l):.4f}" for l in lmbdas
                           if l != BOOK_LMBDA)
        lines.append(f"        Per epoch pure decay scales the weights by (1 - eta lmbda/n)^(n/m) ~ "
                     f"e^(-eta lmbda/m), whatever n is: the book's lmbda = {BOOK_LMBDA:g} gives "
                     f"{per_epoch(BOOK_LMBDA):.4f} at this eta and m"
                     + (f" (this run's {others})" if others else "")
                     + f". At n = {n:,}, lmbda = {BOOK_LMBDA:g} keeps the book's per-epoch "
                     f"decay, lmbda = {_sci(BOOK_LMBDA_OVER_N * n)} its lmbda/n; not both.")
        lines.append(f"        The book's n: {FULL_SIZE_COMMAND}")
    return lines


def _comparison(done, stream):
    """After several runs: their final figures side by side (the report's table)."""
    from .report import final_figures_text

    print("\nAll runs side by side (R>=0.5: the first epoch R reached 0.5):", file=stream)
    print(final_figures_text(done), file=stream, flush=True)


def _written(out, done, plots):
    """The files a run wrote, as one line: where they are and what to open."""
    folders = sorted({os.path.dirname(p) for r in done for p in (r["plots"] or {}).values()})
    return (f"Wrote history, summary, model{', plots' if plots else ''} and the report to "
            f"{os.path.abspath(out)}: open {os.path.join(os.path.abspath(out), 'report.html')}"
            + (f" ({len(folders)} run folders)" if len(folders) > 1 else ""))


def experiment(args, stream=None):
    """Run ``wdecay experiment``; return the summaries."""
    with contextlib.ExitStack() as held:  # the results folder's lock, until we return
        return _experiment(args, stream, held)


def _experiment(args, stream, held):
    stream = _Output(sys.stdout if stream is None else stream)
    dataset, runs = _plan(args)
    for _, _, settings in runs:
        settings["dataset"] = " ".join(dataset)
    out = args.resume or args.out
    planned = _planned(runs)
    if not args.resume:
        _check_out(out, args.overwrite, planned)
    if args.resume:
        for title, folder, settings in runs:
            found = E.checkpoints(os.path.join(out, folder))
            if found and found[-1][1] > settings["epochs"]:
                raise CLIError(f"argument --epochs: {title} has finished {found[-1][1]} epochs; "
                               f"the new total must be at least that, got {settings['epochs']}")
            if not found and not args.overwrite:
                _check_restart(out, title, os.path.join(out, folder))
    splits, dataset_name = load_dataset(dataset)
    for _, _, settings in runs:
        _check_data(splits, settings, args.predict)
    for title, folder, settings in runs if args.resume else ():
        folder = os.path.join(out, folder)
        if E.checkpoints(folder):  # checkpoint, run.json and history agree: before any write
            try:
                E.check_resume(folder, os.path.join(folder, "history.csv"),
                               {**settings, "n_train": len(splits[0][0])})
            except (ValueError, OSError) as exc:
                raise CLIError(f"--resume {out}: {title}: {_one_line(exc)}") from None
    plots = out is not None and _plots_available(args)
    table = not args.quiet and args.format == "table"
    if out is not None:  # everything is checked: now touch files, holding the folder's lock
        os.makedirs(out, exist_ok=True)
        held.enter_context(runfolder.lock(out))
        for _, folder, _ in runs:  # a run already writing into one of them refuses us now
            path = os.path.join(out, folder)
            if folder != "." and os.path.isdir(path) and not os.path.islink(path):
                held.enter_context(runfolder.lock(path))
        if not args.resume:
            _check_out(out, args.overwrite, planned)  # again: another run may have just ended
            if args.overwrite:
                _clear(out, planned)
        _record(out, planned)
    if out is not None and (not args.resume or _given(args, "epochs")):
        atomic_write(os.path.join(out, "run.json"), dumps(
            {"wdecay": __version__, "command": "experiment",
             "dataset": dataset[:1] + [os.path.abspath(p) for p in dataset[1:]],  # any cwd
             "runs": [{"title": t, "folder": f, "settings": s} for t, f, s in runs]},
            indent=1).encode())
    if table:
        print("\n".join(experiment_header(dataset_name, splits, runs)) + "\n", file=stream,
              flush=True)
    done, summaries = [], []
    for i, (title, folder, settings) in enumerate(runs):
        folder = None if out is None else os.path.normpath(os.path.join(out, folder))
        resume = bool(args.resume) and folder is not None and bool(E.checkpoints(folder))
        if folder is not None:
            os.makedirs(folder, exist_ok=True)
        if len(runs) > 1 and table:
            print(("\n" if i else "") + f"== {title} ==", file=stream)
        try:
            net, history, summary = E.run(
                splits, settings, table=table, stream=stream, resume=resume,
                history_path=folder and os.path.join(folder, "history.csv"),
                checkpoint_dir=folder, history_mode="overwrite", predict=args.predict)
        except KeyboardInterrupt:
            raise Interrupted(_keep_interrupted(out, folder, title, settings, splits, done,
                                                plots)) from None
        text = summary_text(summary, explain=getattr(args, "explain", False))
        plot_paths = _write_run(folder, net, history, summary, plots) if folder else {}
        done.append(_run_entry(title, text, summary, plot_paths, history))
        summaries.append(summary)
        if args.format == "table":
            gap = "\n" if (table or i) else ""
            print(gap + text, file=stream, flush=True)
    if out is not None:
        _finish_report(out, done, plots, runs)
    if args.format == "table" and len(done) > 1:
        _comparison(done, stream)
    if out is not None:
        print(_written(out, done, plots), file=stream if args.format == "table" else sys.stderr,
              flush=True)
    if args.format == "json":
        print(dumps(summaries[0] if len(summaries) == 1 else summaries, indent=1), file=stream)
    return summaries


def _run_entry(title, text, summary, plot_paths, history):
    return {"title": title, "summary_text": text, "summary": summary, "plots": plot_paths,
            "history": history}


def _write_run(folder, net, history, summary, plots):
    from .report import write_run

    return write_run(folder, net, history, summary, plots)


def _finish_report(out, done, plots, runs):
    overlays = {}
    if plots and len(done) > 1:
        from .report import write_overlays

        layers = len(runs[0][2]["sizes"]) - 1
        overlays = write_overlays(out, {r["title"]: r["history"] for r in done},
                                  ["layer1/rms", f"layer{layers}/rms"])
    _write_report(os.path.join(out, "report.html"), done, overlays)


def _keep_interrupted(out, folder, title, settings, splits, done, plots):
    """After Ctrl-C: write the finished epochs' model, summary and report; say what was kept."""
    if folder is None:
        return "interrupted; nothing kept (no --out)"
    found = E.checkpoints(folder)
    kept = []
    if found and found[-1][1] > 0:
        from .serialization import load

        path, epoch = found[-1]
        net = load(path)
        history = History(E.History.from_csv(os.path.join(folder, "history.csv")).records)
        history.truncate(epoch)
        (X, _), _, (X_test, y_test) = splits
        s = {**settings, "epochs": epoch, "n_train": len(X)}
        summary = summarize(history, net, s, net.accuracy(X_test, y_test))
        plot_paths = _write_run(folder, net, history, summary, plots)
        done.append(_run_entry(f"{title} (interrupted after epoch {epoch})",
                               summary_text(summary), summary, plot_paths, history))
        kept.append(f"epochs 0-{epoch} of {title}")
    if done:
        _finish_report(out, done, plots, [(None, None, settings)])
    what = ", ".join(kept) if kept else f"no finished epoch of {title}"
    return (f"interrupted: kept {what}{' and the runs before it' if len(done) > len(kept) else ''}"
            f" in {out} (history, checkpoint{', model, summary, report' if done else ''}); "
            f"continue with: wdecay experiment --resume {out}")


# -- wdecay path -----------------------------------------------------------------
def path(args, stream=None):
    """Run ``wdecay path`` (:mod:`wdecay.convex.summary` solves and describes it); return the Path."""
    from .convex import summary as P

    stream = _Output(sys.stdout if stream is None else stream)
    P.check_options(args.n_lmbdas, args.lmbdas, args.digits, args.multiclass)
    _check_out(args.out, args.overwrite)
    args.dataset = args.dataset or ["mnist-sample"]
    splits, _ = load_dataset(args.dataset)
    plots = args.out is not None and _plots_available(args)
    result, settings, rows, numbers = P.solve(
        splits, " ".join(args.dataset), penalty=args.penalty, n_lmbdas=args.n_lmbdas,
        lmbdas=args.lmbdas, digits=args.digits, multiclass=args.multiclass)
    summary = {"settings": settings, **numbers}  # the report's form: settings inside
    header, text = P.header(settings), P.summary_text(summary)
    if args.format == "json":
        print(dumps({"settings": settings, "rows": rows, "summary": numbers}, indent=1),
              file=stream)
    else:
        lines = [] if args.quiet else header + [""] + P.table(rows) + [""]
        print("\n".join(lines + [text]), file=stream, flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        if args.overwrite:
            _clear(args.out)
        _record(args.out, PATH_FILES)
        atomic_write(os.path.join(args.out, "path.json"),
                     dumps({"settings": settings, "rows": rows, "summary": numbers},
                           indent=1).encode())
        plot_paths = {}
        if plots:
            from . import plot

            plot_paths = plot.path_plots(result, args.out)
        from .report import write_path_html

        write_path_html(os.path.join(args.out, "report.html"), rows, settings, plot_paths,
                        "\n".join(header + ["", text]))
    return result


# -- entry point -------------------------------------------------------------------
ERRORS = (CLIError, ValueError, TypeError, OSError, gzip.BadGzipFile, TrainingDivergedError,
          MonitorError, EOFError)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"wdecay: warning: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv=None):
    """``wdecay``: return the exit code (0, 2 for an error, 130 after Ctrl-C).

    Warnings are printed as one ``wdecay: warning:`` line each; numpy's
    floating-point RuntimeWarnings are silenced (training checks for NaN and
    inf after every epoch and stops with one error line).
    """
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.showwarning = _show_warning
            if args.command == "experiment":
                experiment(args)
            else:
                path(args)
    except Interrupted as exc:
        print(f"wdecay: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("wdecay: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ERRORS as exc:
        print(f"wdecay: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print("wdecay: error: not enough memory for these settings (--sizes or the data set); "
              "use smaller layers", file=sys.stderr)
        return EXIT_ERROR
    return 0


def _one_line(exc):
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, (KeyError, EOFError, gzip.BadGzipFile)):
        text = f"{type(exc).__name__}: {text}"
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
