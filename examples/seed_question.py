"""The user's original network2 script, with only the import line changed.

``mnist_loader.load_data_wrapper()`` finds Nielsen's ``mnist.pkl.gz`` where a
book script expects it: ./mnist.pkl.gz, ../data/mnist.pkl.gz, $WDECAY_DATA,
then download_mnist's cache. Without the real file, this example writes the
embedded 5,000-digit sample (4,000/500/500) as ``mnist_sample.pkl.gz`` -- a name
of its own, so it is never mistaken for the real data set -- and points
$WDECAY_DATA at it for this process only.

    python examples/seed_question.py          # 30 epochs
    WDECAY_EXAMPLE_SMALL=1 python examples/seed_question.py   # 2 epochs
"""

import os

from wdecay.datasets import find_mnist, load_mnist_sample, write_mnist_pickle

try:
    print(f"using {find_mnist()}")
except FileNotFoundError:
    sample = os.path.abspath("mnist_sample.pkl.gz")
    write_mnist_pickle(sample, load_mnist_sample())
    os.environ["WDECAY_DATA"] = sample
    print(f"no mnist.pkl.gz found: using the embedded MNIST sample (4,000/500/500), "
          f"written as {os.path.basename(sample)}")
epochs = 2 if os.environ.get("WDECAY_EXAMPLE_SMALL") == "1" else 30

# --- the script as users wrote it; only this import differs from network2.py ---
from wdecay.compat import mnist_loader, network2  # noqa: E402

training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
net.large_weight_initializer()
net.SGD(training_data, epochs, 10, 0.1, lmbda=5.0, evaluation_data=validation_data,
        monitor_evaluation_accuracy=True)
