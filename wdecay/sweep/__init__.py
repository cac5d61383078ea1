"""Many networks at once: lockstep training and sweeps over hyperparameter grids."""

from .grid import SweepResult, batches, expand, load_data, run, run_batch
from .lockstep import Lockstep, train_many

__all__ = ["train_many", "Lockstep", "run", "run_batch", "expand", "batches", "load_data",
           "SweepResult"]
