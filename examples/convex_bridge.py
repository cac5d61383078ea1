"""SGD on a [784, 10] network approaches the exact L2 optimum of the same convex problem.

Trains on the embedded MNIST sample, halving eta at each checkpoint, with cross-entropy (one-vs-rest logistic
outputs), L2 lmbda, and prints the relative distance of the weights from
``wdecay.convex.fit_optimum``'s solution as training goes on.

    python examples/convex_bridge.py [--epochs 60] [--lmbda 50] [--eta 0.5] [--batch-size 100]
"""

import argparse

import wdecay
from wdecay.convex import distance_to_optimum
from wdecay.datasets import load_mnist_sample


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--lmbda", type=float, default=50.0)
    parser.add_argument("--eta", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    (X, y), _, _ = load_mnist_sample()
    net = wdecay.Network([784, 10], cost="cross-entropy", seed=0)
    _, _, opt = distance_to_optimum(net, X, y, args.lmbda)
    print(f"exact optimum: residual {opt.residual:.2e}, sum w^2 {opt.l2_norm2:.4f}")
    per = max(1, args.epochs // args.checkpoints)
    distances, done, eta = [], 0, args.eta
    while done < args.epochs:
        net.fit(X, y, epochs=per, batch_size=args.batch_size, eta=eta,
                regularizer=wdecay.L2(args.lmbda), seed=done)
        done += per
        eta /= 2  # SGD noise sets a floor proportional to eta; halve it to go below
        dw, db, _ = distance_to_optimum(net, X, y, args.lmbda, optimum=opt)
        distances.append(dw)
        print(f"epoch {done:>4}: |W - W*| / |W*| = {dw:.4f}, |b - b*| / |b*| = {db:.4f}")
    return distances


if __name__ == "__main__":
    main()
