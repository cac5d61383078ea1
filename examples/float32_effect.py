"""What float32 changes: the seed experiment trained in float64 and in float32.

    python examples/float32_effect.py [--epochs 30]
"""

import argparse
import os

import numpy as np

import wdecay
from wdecay.datasets import load_mnist_sample


def main(argv=None):
    small = os.environ.get("WDECAY_EXAMPLE_SMALL") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3 if small else 30)
    args = parser.parse_args(argv)
    (X, y), (Xv, yv), (Xt, yt) = load_mnist_sample()
    runs = {}
    for dtype in (np.float64, np.float32):
        net = wdecay.Network([784, 30, 10], initializer="large", seed=0, dtype=dtype)
        h = net.fit(X, y, epochs=args.epochs, batch_size=10, eta=0.1, regularizer=wdecay.L2(5.0),
                    evaluation_data=(Xv, yv), seed=0,
                    backend="numpy")  # the same numbers with or without the numba extra
        runs[np.dtype(dtype).name] = {
            "validation": float(h["eval/accuracy"][-1]), "test": net.accuracy(Xt, yt),
            "rms1": float(h["layer1/rms"][-1]) if "layer1/rms" in h else
            float(np.sqrt(np.mean(net.weights[0].astype(float) ** 2))),
            "weights": [w.astype(np.float64) for w in net.weights]}
    diff = max(np.max(np.abs(a - b)) / np.max(np.abs(b))
               for a, b in zip(runs["float32"]["weights"], runs["float64"]["weights"]))
    for name, r in runs.items():
        print(f"{name}: validation {r['validation']:.3f}, test {r['test']:.3f}, "
              f"layer 1 RMS {r['rms1']:.5f}")
    print(f"largest weight difference, relative to the largest weight: {diff:.1e}")
    return runs, diff


if __name__ == "__main__":
    main()
