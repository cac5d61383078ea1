"""Data sets: the embedded MNIST sample, MNIST and Fashion-MNIST files, network2 converters.

Nielsen's ``mnist.pkl.gz`` is a pickle, and a pickle is code: wdecay reads it
with a restricted unpickler (:mod:`wdecay.datasets.safepickle`) that admits
only numpy arrays, dtypes and tuples.
"""

from .convert import from_network2, to_network2, write_mnist_pickle
from .download import MNIST_URL, download_mnist
from .files import (FASHION_MNIST_FILES, FASHION_MNIST_URL, data_locations, find_mnist,
                    load_fashion_mnist, load_idx_folder, load_mnist, read_idx)
from .offline import find_offline_mnist
from .safepickle import read_mnist_pickle
from .sample import load_mnist_sample
from .splits import DataSplits

__all__ = ["load_mnist_sample", "load_mnist", "load_idx_folder", "load_fashion_mnist",
           "read_idx", "download_mnist", "MNIST_URL", "to_network2", "from_network2", "write_mnist_pickle",
           "DataSplits", "find_mnist", "data_locations", "read_mnist_pickle", "FASHION_MNIST_FILES",
           "FASHION_MNIST_URL", "find_offline_mnist"]
