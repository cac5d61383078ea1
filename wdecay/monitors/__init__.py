"""Monitors: callbacks that observe training and record named values per epoch.

Subclass :class:`Monitor` and override the hooks you need; see
:mod:`wdecay.monitors.base` for the order in which the loop calls them.
"""

from .angular import AngularUpdate
from .balance import Balance
from .base import LambdaMonitor, Monitor, MonitorError, MonitorList, StepParts, TrainingState
from .budget import NormBudget
from .control import EarlyStopping, ProgressBar
from .decay import DecayPrediction, Saturation
from .metrics import Accuracy, Cost
from .norms import LayerStatistics, SumVsAbsSum, WeightNorms

__all__ = ["Monitor", "LambdaMonitor", "MonitorError", "MonitorList", "StepParts",
           "TrainingState", "Accuracy", "Cost", "WeightNorms", "LayerStatistics",
           "SumVsAbsSum", "NormBudget", "DecayPrediction", "Saturation", "Balance",
           "AngularUpdate", "EarlyStopping", "ProgressBar"]


def diagnostics():
    """A fresh list of every diagnostic monitor, in a sensible order."""
    return [WeightNorms(), LayerStatistics(), SumVsAbsSum(), NormBudget(),
            DecayPrediction(), Saturation(), Balance()]
