"""Seconds per epoch of [784, 30, 10] on 50,000 examples with 1 and 2 BLAS threads.

Justifies wdecay.training.TRAINING_BLAS_THREADS. Run it alone and again with the
other core busy (e.g. `python -c "while True: pass" &`) to see the effect of load.

    python benchmarks/blas_threads.py [--repeats 3]
"""

import argparse

from _common import blas_info, interleaved, training_data

import wdecay
import wdecay.training as training


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    source, X, y, _, _ = training_data()
    print(f"data: {source}; BLAS: {blas_info()}")
    for batch in (10, 100):
        fns = {}
        for threads in (1, 2):
            def go(threads=threads):
                training.TRAINING_BLAS_THREADS = threads
                net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
                net.fit(X, y, epochs=1, batch_size=batch, eta=0.1, regularizer=wdecay.L2(5.0))
            fns[threads] = go
        med, _ = interleaved(fns, args.repeats)
        print(f"batch {batch:>3}: 1 thread {med[1]:.3f} s, 2 threads {med[2]:.3f} s, "
              f"2/1 = {med[2] / med[1]:.2f}")
    training.TRAINING_BLAS_THREADS = 1


if __name__ == "__main__":
    main()
