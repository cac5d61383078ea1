"""wdecay: what L2 and L1 weight decay really do to a network's weights."""

from .activations import ReLU, Sigmoid, Tanh
from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from .history import History
from .initializers import DefaultWeightInitializer, LargeWeightInitializer
from .network import Network
from . import optim
from .regularizers import L1, L2, NoRegularizer, Regularizer
from .serialization import load, save
from .training import TrainingDivergedError, fit

__version__ = "0.1.0"

__all__ = [
    "Network", "fit", "History", "TrainingDivergedError", "save", "load",
    "QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost",
    "DefaultWeightInitializer", "LargeWeightInitializer",
    "L2", "L1", "NoRegularizer", "Regularizer", "Sigmoid", "Tanh", "ReLU", "optim",
]
