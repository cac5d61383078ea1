"""The fused numpy step inlined (training.Step._run_fused) against the same update through
passes.forward / passes.backward(on_layer=...), side by side in one process.

[784, 30, 10], 20,000 rows of the embedded MNIST sample (tiled), batch 10, L2 lmbda 5,
one BLAS thread, 7 interleaved repeats, medians of CPU seconds; both give the same weights
(printed). This is the measurement behind keeping the inlined copy of the pass in Step.

    python benchmarks/fused_inline.py
"""
import time, numpy as np, wdecay
from wdecay import passes
from wdecay.training import Step
from wdecay.datasets import load_mnist_sample
from wdecay._threads import blas_threads

def fused_layer(self, layer, delta, a):
    wT = self.net.weights[layer].T
    out = self._gemm(-1.0, a.T, delta.T, self.factor, wT, trans_b=1, overwrite_c=1)
    if out is not wT:
        np.copyto(wT, out)
    b = self.net.biases[layer]
    out = self._gemv(-1.0, delta.T, self._ones[:len(delta)], 1.0, b, overwrite_y=1)
    if out is not b:
        np.copyto(b, out)

def run_passes(self, m):
    net = self.net
    acts, zs, deltas, targets = self._buffers(m)
    passes.forward(net.weights, net.biases, net.activation, net.cost, acts[0], zs, acts)
    passes.backward(net.weights, net.activation, net.cost, zs, acts, targets,
                    scale=self.eta / m, deltas=deltas, on_layer=lambda l, d, a: fused_layer(self, l, d, a))

(X, y), _, _ = load_mnist_sample()
X = np.tile(X, (5, 1))[:20000]; y = np.tile(y, 5)[:20000]
Y = np.eye(10)[y]
times = {"inlined": [], "passes": []}
with blas_threads(1):
    for rep in range(7):
        for name in ("inlined", "passes"):
            net = wdecay.Network([784, 30, 10], initializer="large", seed=0)
            step = Step(net, 10, eta=0.1, n=len(X), regularizer=wdecay.L2(5.0))
            if name == "passes":
                step._run_fused = lambda m, s=step: run_passes(s, m)
            order = np.random.default_rng(rep).permutation(len(X))
            t = time.process_time()
            for k in range(0, len(X), 10):
                step(X, Y, order[k:k + 10])
            times[name].append(time.process_time() - t)
            if rep == 6:
                print(name, net.weights[0][0, :3])
for k, v in times.items():
    print(k, np.median(v))
print("ratio passes/inlined", np.median(times["passes"]) / np.median(times["inlined"]))
