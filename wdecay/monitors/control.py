"""Monitors that steer or report the run: early stopping and a progress bar."""

from __future__ import annotations

import math
import numbers
import sys

from .._validation import check_scalar
from .base import Monitor


class EarlyStopping(Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` consecutive epochs.

    ``mode="max"`` for accuracies, ``"min"`` for costs. The key must be
    recorded by a monitor that runs earlier in the list (or by ``fit``'s
    evaluation defaults, ``eval/accuracy`` and ``eval/cost``).

    Examples
    --------
    >>> EarlyStopping(3).monitor
    'eval/accuracy'
    """

    def __init__(self, patience, monitor="eval/accuracy", mode="max"):
        check_scalar(patience, "patience", kind=numbers.Integral, low=1)
        if not isinstance(monitor, str):
            raise TypeError(f"`monitor` must be a history key such as 'eval/accuracy', "
                            f"got {monitor!r}")
        if mode not in ("max", "min"):
            raise ValueError(f"`mode` must be 'max' or 'min', got {mode!r}")
        self.patience, self.monitor, self.mode = patience, monitor, mode

    def on_train_begin(self, state):
        self.best, self.wait = -math.inf if self.mode == "max" else math.inf, 0

    def on_epoch_end(self, state):
        if state.epoch == 0:
            return None
        if self.monitor not in state.record:
            raise KeyError(f"EarlyStopping needs {self.monitor!r} in the epoch's record; "
                           "put the monitor that records it earlier in the list")
        value = state.record[self.monitor]
        better = value > self.best if self.mode == "max" else value < self.best
        if better:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop_training = True


class ProgressBar(Monitor):
    """A progress bar over epochs: tqdm if installed, plain text otherwise.

    It shows the epoch being trained and erases itself when the epoch ends, so
    monitors that print one line per epoch (such as the command line's table)
    stay readable. Silent when the stream is not a terminal (unless ``force=True``).

    Parameters
    ----------
    stream : file-like, optional
        Where to draw (default ``sys.stderr``).
    force : bool
        Draw even when ``stream`` is not a terminal.
    use_tqdm : bool
        Use tqdm when it is installed (default); ``False`` always draws the
        plain-text bar.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar(out, force=True, use_tqdm=False)
    >>> bar.label(2, 30)
    'epoch 2/30'
    """

    width = 30

    def __init__(self, stream=None, force=False, use_tqdm=True):
        self.stream, self.force, self.use_tqdm = stream, force, use_tqdm

    @staticmethod
    def label(epoch, last_epoch):
        """What the bar says while training ``epoch`` of ``last_epoch``."""
        return f"epoch {epoch}/{last_epoch}"

    def on_train_begin(self, state):
        self.out = self.stream or sys.stderr
        self.active = self.force or getattr(self.out, "isatty", lambda: False)()
        self.bar = None
        if not self.active or not self.use_tqdm:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        total = state.last_epoch - max(state.epoch, 1) + 1
        # tqdm shows "<n>/<total>" and a rate in unit/s: the unit stays singular
        self.bar = tqdm(total=total, unit="epoch", file=self.out, leave=False)

    def on_epoch_begin(self, state):
        if not self.active:
            return
        if self.bar is not None:
            self.bar.set_description(self.label(state.epoch, state.last_epoch))
            self.bar.refresh()
            return
        total = max(state.last_epoch, 1)
        done = int(self.width * (state.epoch - 1) / total)
        self.out.write(f"\r[{'#' * done}{'.' * (self.width - done)}] "
                       f"training {self.label(state.epoch, state.last_epoch)}")
        self.out.flush()

    def on_epoch_end(self, state):
        if not self.active or state.epoch == 0:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.clear()
        else:
            self.out.write("\r\033[K")  # erase the bar before anything prints the epoch
            self.out.flush()

    def on_train_end(self, state):
        if self.bar is not None:
            self.bar.close()
