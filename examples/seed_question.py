"""The user's original network2 script, with only the import line changed.

Without Nielsen's ``mnist.pkl.gz`` in the working folder, the embedded
5,000-digit sample is written there in the same format first.

    python examples/seed_question.py          # 30 epochs
    WDECAY_EXAMPLE_SMALL=1 python examples/seed_question.py   # 2 epochs
"""

import os

from wdecay.datasets import load_mnist_sample, write_mnist_pickle

if not os.path.exists("mnist.pkl.gz"):
    write_mnist_pickle("mnist.pkl.gz", load_mnist_sample())
    print("wrote the embedded MNIST sample (4,000/500/500) as mnist.pkl.gz")
epochs = 2 if os.environ.get("WDECAY_EXAMPLE_SMALL") == "1" else 30

# --- the script as users wrote it; only this import differs from network2.py ---
from wdecay.compat import mnist_loader, network2  # noqa: E402

training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
net.large_weight_initializer()
net.SGD(training_data, epochs, 10, 0.1, lmbda=5.0, evaluation_data=validation_data,
        monitor_evaluation_accuracy=True)
