"""Data sets: the embedded MNIST sample, MNIST and Fashion-MNIST files, network2 converters."""

from .convert import from_network2, to_network2, write_mnist_pickle
from .download import MNIST_URL, download_mnist
from .files import load_fashion_mnist, load_idx_folder, load_mnist, read_idx
from .sample import load_mnist_sample
from .splits import DataSplits

__all__ = ["load_mnist_sample", "load_mnist", "load_idx_folder", "load_fashion_mnist",
           "read_idx", "download_mnist", "MNIST_URL", "to_network2", "from_network2", "write_mnist_pickle",
           "DataSplits"]
