"""Issue 23: inputs that used to give a silently wrong result, or an unhelpful error.

Each test names the item of the issue it covers. Every error is one line that
names the parameter and what was expected.
"""

import warnings

import numpy as np
import pytest

import wdecay
from wdecay.compat import network2
from wdecay.loop import TrainingDivergedError

X = np.random.default_rng(0).random((10, 4))
y = np.arange(10) % 3


def fit(X=X, y=y, **kw):
    args = dict(epochs=1, batch_size=2, eta=0.1)
    args.update(kw)
    return wdecay.Network([4, 3], seed=0).fit(X, y, **args)


def one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -- silent wrong results -------------------------------------------------------

def test_A9_complex_X_is_refused_naming_the_dtype():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning first: refused before any cast
        with pytest.raises(TypeError, match=r"`X` must be real, got dtype complex128") as e:
            fit(X=X + 1j)
    one_line(e)
    with pytest.raises(TypeError, match=r"`evaluation_data X` must be real, got dtype complex64"):
        fit(evaluation_data=(X.astype(np.complex64), y))
    with pytest.raises(TypeError, match=r"`y` must be real, got dtype complex128"):
        fit(y=np.eye(3)[y] + 0j)


def test_A32_one_hot_rows_of_zeros_are_refused():
    Y = np.eye(3)[y]
    Y[[2, 5]] = 0.0
    with pytest.raises(ValueError, match=r"one-hot `y`: 2 of 10 rows are all zero \(row 2") as e:
        fit(y=Y)
    one_line(e)


def test_A33_scaled_one_hot_targets_are_refused():
    with pytest.raises(ValueError, match=r"one-hot `y` must hold values in \[0, 1\], got "
                                         r"values in \[0, 50\]") as e:
        fit(y=np.eye(3)[y] * 50)
    one_line(e)
    halves = np.eye(3)[y] * 0.5  # in [0, 1], but each row sums to 0.5
    with pytest.raises(ValueError, match=r"10 of 10 rows do not sum to 1 \(row 0 sums to 0.5\)"):
        fit(y=halves)


def test_valid_one_hot_and_probability_targets_still_train_bit_identically():
    soft = np.full((10, 3), 0.2)
    soft[np.arange(10), y] = 0.6
    fit(y=soft)  # class probabilities are targets too
    net1, net2 = wdecay.Network([4, 3], seed=0), wdecay.Network([4, 3], seed=0)
    net1.fit(X, y, epochs=2, batch_size=2, eta=0.1, seed=1)
    net2.fit(X, np.eye(3)[y], epochs=2, batch_size=2, eta=0.1, seed=1)
    for w1, w2 in zip(net1.weights + net1.biases, net2.weights + net2.biases):
        assert np.array_equal(w1, w2)


def test_B43_large_L1_shrink_warns_as_L2_warns_for_its_factor():
    with pytest.warns(UserWarning, match=r"per-step shrink eta\*lmbda/n = 5e\+04 \(eta=0.5, "
                                         r"lmbda=1000000.0, n=10\)"):
        fit(eta=0.5, regularizer=wdecay.L1(1e6))
    with pytest.warns(UserWarning, match="decay factor"):  # L2's, the model it mirrors
        fit(eta=0.5, regularizer=wdecay.L2(12.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wdecay.L1(1.0).factor(0.5, n=1) == 1.0  # c = 0.5: no warning at the bound
        fit(eta=0.5, regularizer=wdecay.L1(5.0))


def test_B43_large_shrink_warns_in_train_many_too():
    from wdecay.sweep.lockstep import train_many

    with pytest.warns(UserWarning, match="per-step shrink"):
        train_many(X, y, [{"eta": 0.5, "lmbda": 1e6, "regularizer": "l1"}], sizes=[4, 3],
                   epochs=1, batch_size=2, seed=0, on_divergence="mark", backend="numpy")


def train2():
    rng = np.random.default_rng(0)
    train = [(rng.random((4, 1)), np.eye(3)[:, [i % 3]]) for i in range(12)]
    evaluation = [(rng.random((4, 1)), i % 3) for i in range(6)]
    np.random.seed(0)
    return network2.Network([4, 5, 3]), train, evaluation


@pytest.mark.parametrize("eta, exc, match", [
    (float("nan"), ValueError, "`eta` must be finite, got nan"),
    (float("inf"), ValueError, "`eta` must be finite, got inf"),
    (0.0, ValueError, "`eta` must be > 0"),
])
def test_M2_compat_non_finite_eta_is_refused(eta, exc, match):
    net, train, _ = train2()
    with pytest.raises(exc, match=match) as e:
        net.SGD(train, 1, 3, eta)
    one_line(e)


def test_M8_compat_divergence_raises_instead_of_ending_with_nan_weights(capsys):
    net, train, _ = train2()
    with np.errstate(all="ignore"):
        with pytest.raises(TrainingDivergedError,
                           match=r"SGD diverged in epoch 0: the weights became NaN or inf .* "
                                 r"use a smaller eta \(got eta=1e\+308\)") as e:
            net.SGD(train, 2, 3, 1e308)
    one_line(e)
    assert "Epoch 0 training complete" not in capsys.readouterr().out
    net, train, _ = train2()
    with pytest.raises(ValueError, match="decay factor"):  # with lmbda the factor refuses first
        net.SGD(train, 2, 3, 1e308, lmbda=1.0)


def test_M12_unbounded_convex_problem_is_refused_not_solved():
    from wdecay.convex import fit_optimum
    from wdecay.convex.solve import NoOptimumError

    for penalty in ("l2", "l1"):
        with pytest.raises(NoOptimumError, match=r"lmbda=0: the logistic problem has no finite "
                                                 r"optimum: the two classes are linearly "
                                                 r"separable, .* pass lmbda > 0") as e:
            fit_optimum([[0], [1]], [[0], [1]], 0.0, penalty=penalty)
        one_line(e)
    # only weakly separable: x = 1 is always class 1, x = 0 either class
    with pytest.raises(NoOptimumError, match="linearly separable"):
        fit_optimum([[0], [0], [0], [1]], [[0], [0], [1], [1]], 0.0)
    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((200, 4))
    with pytest.raises(NoOptimumError, match="softmax problem .* classes are linearly separable"):
        fit_optimum(Xr, np.argmax(Xr[:, :3], axis=1), 0.0, model="softmax")
    # overlapping classes have a finite optimum: solved as before, a zero gradient
    noisy = np.argmax(Xr[:, :3] + rng.standard_normal((200, 3)), axis=1)
    for model in ("logistic", "softmax"):
        opt = fit_optimum(Xr, noisy, 0.0, model=model)
        assert np.isfinite(opt.l2_norm2) and opt.residual < 1e-6
    assert fit_optimum([[0], [1]], [[0], [1]], 1.0).l2_norm2 < 10  # lmbda > 0: bounded


def test_M12_problems_too_large_for_the_proof_get_the_ray_test(monkeypatch):
    from wdecay.convex import fit_optimum, solve

    monkeypatch.setattr(solve, "BOUNDED_LP_MAX", 0)
    with pytest.raises(solve.NoOptimumError, match=r"doubling the solver's weights \(sum w\^2 = "):
        fit_optimum([[0], [1]], [[0], [1]], 0.0)
    assert fit_optimum([[0], [1], [2], [3]], [[0], [1], [0], [1]], 0.0).residual < 1e-6


def test_M13_path_targets_outside_0_1_are_refused():
    from wdecay.convex import regularization_path

    rng = np.random.default_rng(0)
    Xc = rng.standard_normal((40, 3))
    yc = (Xc[:, :1] > 0.3).astype(float)
    with pytest.raises(ValueError, match=r"`y` must hold values in \[0, 1\], got values in "
                                         r"\[0, 2\]") as e:
        regularization_path(Xc, yc * 2, n_lmbdas=3)
    one_line(e)
    path = regularization_path(Xc, yc, n_lmbdas=3)  # (n, 1) binary targets are fine
    assert np.all(np.isfinite(path.train_cost)) and np.all(path.train_cost >= 0)


def test_sweep_max_batch_must_be_a_positive_integer():
    from wdecay.sweep import run

    grid = {"data": "random:60:5:3:0", "sizes": [5, 4, 3], "lmbda": [0.0, 1.0]}
    for bad in (-1, 0):
        with pytest.raises(ValueError, match=rf"`max_batch` must be >= 1, got {bad}") as e:
            run(grid, max_batch=bad)
        one_line(e)
    with pytest.raises(TypeError, match="`max_batch` must be an integer"):
        run(grid, max_batch=2.5)
    assert len(run(grid, max_batch=1).runs) == 2


# -- unhelpful errors ---------------------------------------------------------------

def test_uint64_labels_above_2_63_are_shown_as_given():
    with pytest.raises(ValueError, match=r"`y` labels must be in \[0, 2\] .* got values in "
                                         r"\[3, 9223372036854775813\]") as e:
        fit(y=np.array([3] * 9 + [2**63 + 5], dtype=np.uint64))
    one_line(e)
    with pytest.raises(ValueError, match=r"got values in \[0, 1e\+300\]"):
        fit(y=np.r_[np.zeros(9), 1e300])


def test_penalty_with_n_0_names_n():
    for reg in (wdecay.L2(1.0), wdecay.L1(1.0)):
        with pytest.raises(ValueError, match=r"`n` \(the training-set size the penalty divides "
                                             r"by\) must be a number > 0, got 0") as e:
            reg.penalty([np.ones(3)], n=0)
        one_line(e)
        with pytest.raises(ValueError, match="`n`"):
            reg.factor(0.1, n=0)


def test_idx_dims_of_2_32_minus_1_are_refused_before_any_reshape(tmp_path):
    import gzip
    import struct

    from wdecay.datasets import read_idx

    path = tmp_path / "dims.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1,
                                                                     2**32 - 1, 0)))
    with pytest.raises(ValueError, match=r"dims.gz'?: the header declares shape \(4294967295, "
                                         r"4294967295, 0\) \(0 bytes\), more than max_bytes") as e:
        read_idx(path)
    one_line(e)


def test_from_network2_with_mixed_shapes_names_the_example():
    from wdecay.datasets import from_network2

    data = [(np.ones((3, 1)), 1), (np.ones((3, 1)), 0), (np.ones((4, 1)), 1)]
    with pytest.raises(ValueError, match=r"`data` inputs must all have the same size: example 0 "
                                         r"has 3 values \(shape \(3, 1\)\), example 2 has 4") as e:
        from_network2(data)
    one_line(e)


def test_download_into_a_file_as_cache_dir(tmp_path):
    from wdecay.datasets import download_mnist

    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError,
                       match=r"`cache_dir` must be a folder, got the file") as e:
        download_mnist(a_file, url="http://127.0.0.1:9/mnist.pkl.gz", timeout=5)
    one_line(e)
    with pytest.raises(OSError, match=r"`cache_dir` .* cannot be created"):
        download_mnist(a_file / "sub", url="http://127.0.0.1:9/mnist.pkl.gz", timeout=5)


def closed_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on leaving: nothing listens there


def test_download_connection_error_is_one_line_on_the_command_line(tmp_path):
    import subprocess
    import sys

    import os

    url = f"http://127.0.0.1:{closed_port()}/mnist.pkl.gz"
    root = os.path.dirname(os.path.dirname(wdecay.__file__))  # this wdecay, not another one
    proc = subprocess.run([sys.executable, "-m", "wdecay.datasets", "--url", url,
                           "--cache-dir", str(tmp_path), "--timeout", "10"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": root})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wdecay: error: cannot download {url}: ")
    assert "Are you offline?" in lines[0] and proc.stdout == ""
    assert not (tmp_path / "mnist.pkl.gz").exists()


def test_early_stopping_patience_must_be_an_integer():
    from wdecay.monitors import EarlyStopping

    with pytest.raises(TypeError, match=r"`patience` must be an integer, got '2' \(str\)") as e:
        EarlyStopping("2")
    one_line(e)
    with pytest.raises(ValueError, match=r"`patience` must be >= 1, got 0"):
        EarlyStopping(0)
    with pytest.raises(TypeError, match="`monitor` must be a history key"):
        EarlyStopping(2, monitor=3)
    assert EarlyStopping(np.int64(2)).patience == 2


def test_sweep_list_config_with_missing_keys_names_them():
    from wdecay.sweep import expand, run

    with pytest.raises(ValueError, match=r"`grid` config 0 lacks the keys \['activation', "
                                         r"'batch_size', .*\]: a list must hold complete "
                                         r"configs; build them with wdecay.sweep.expand") as e:
        run([{"eta": 0.1}])
    one_line(e)
    configs = expand({"data": "random:60:5:3:0", "sizes": [5, 4, 3]})
    assert run(configs).runs[0]["error"] is None


def test_train_many_monitors_must_be_a_function_of_k():
    from wdecay.monitors import WeightNorms
    from wdecay.sweep.lockstep import train_many

    with pytest.raises(TypeError, match=r"`monitors` must be a function k -> list of Monitors "
                                        r"for network k, e.g. monitors=lambda k: "
                                        r"\[WeightNorms\(\)\], got a list") as e:
        train_many(X, y, [{}], sizes=[4, 3], epochs=1, batch_size=2, monitors=[WeightNorms()])
    one_line(e)
    _, (h,) = train_many(X, y, [{}], sizes=[4, 3], epochs=1, batch_size=2,
                         monitors=lambda k: [WeightNorms()])
    assert "layer1/rms" in h.keys()


@pytest.mark.parametrize("m, exc, match", [
    (0, ValueError, r"`mini_batch_size` must be >= 1, got 0"),
    (2.5, TypeError, r"`mini_batch_size` must be an integer, got 2.5 \(float\)"),
])
def test_compat_mini_batch_size(m, exc, match):
    net, train, _ = train2()
    with pytest.raises(exc, match=match) as e:
        net.SGD(train, 1, m, 0.1)
    one_line(e)


def test_compat_input_of_the_wrong_length():
    net, train, _ = train2()
    train[5] = (np.ones((3, 1)), train[5][1])  # 783 of 784, in miniature
    with pytest.raises(ValueError, match=r"`training_data` inputs must be \(4, 1\) columns "
                                         r"\(the network's sizes\[0\] = 4\), got shape \(3, 1\) "
                                         r"in example 5") as e:
        net.SGD(train, 1, 2, 0.1)
    one_line(e)


def test_compat_int_labels_in_training_data():
    net, train, _ = train2()
    with pytest.raises(ValueError, match=r"`training_data` labels must be one-hot \(3, 1\) "
                                         r"columns, .* got the int label 0 in example 0") as e:
        net.SGD([(x, i % 3) for i, (x, _) in enumerate(train)], 1, 2, 0.1)
    one_line(e)


def test_compat_one_hot_evaluation_labels():
    net, train, evaluation = train2()
    with pytest.raises(ValueError, match=r"`evaluation_data` labels must be int class indices "
                                         r"in \[0, 2\], .* got an array of shape \(3, 1\) "
                                         r"\(one-hot\?\) in example 0; for one-hot columns pass "
                                         r"int\(np.argmax\(y\)\)") as e:
        net.SGD(train, 1, 2, 0.1, evaluation_data=train, monitor_evaluation_accuracy=True)
    one_line(e)
    with pytest.raises(ValueError, match=r"got 3 in example 0"):
        net.SGD(train, 1, 2, 0.1, evaluation_data=[(x, 3) for x, _ in evaluation])
    out = net.SGD(train, 1, 2, 0.1, evaluation_data=evaluation, monitor_evaluation_accuracy=True)
    assert len(out[1]) == 1


#: Largest relative difference (max|w1 - w2| / max|w1| per array) allowed between the
#: weights of 2 epochs trained with 1 and 2 BLAS threads when nothing pins BLAS.
#: benchmarks/thread_reproducibility.py --mode unpinned measured 3.4e-16 (2 epochs),
#: 8.7e-16 (10 epochs); the bound leaves room for other CPUs' BLAS kernels.
THREADS_RTOL = 1e-13


def _thread_workers():
    import importlib.util
    import os

    root = os.path.dirname(os.path.dirname(wdecay.__file__))
    script = os.path.join(root, "benchmarks", "thread_reproducibility.py")
    if not os.path.exists(script):
        pytest.skip("benchmarks/ is not shipped with an installed wdecay")
    spec = importlib.util.spec_from_file_location("thread_reproducibility", script)
    tr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tr)
    return tr


@pytest.mark.slow  # over 5 s on a busy 2-core machine
def test_L4_base_install_gives_the_same_weights_at_any_blas_thread_count(tmp_path):
    """The base install (no threadpoolctl) pins OpenBLAS itself: 1 and 2 threads, bit-identical."""
    from wdecay._threads import openblas_controls

    if not openblas_controls():
        pytest.skip("no OpenBLAS library loaded: nothing to pin")
    tr = _thread_workers()
    one = tr.run_worker(1, 2, str(tmp_path / "1.npz"), "base")
    two = tr.run_worker(2, 2, str(tmp_path / "2.npz"), "base")
    assert tr.identical(one, two)


@pytest.mark.slow  # over 5 s on a busy 2-core machine
def test_L4_unpinned_reproducible_at_one_thread_count_and_to_rounding_across_counts(tmp_path):
    tr = _thread_workers()
    one_a = tr.run_worker(1, 2, str(tmp_path / "1a.npz"), "unpinned")
    one_b = tr.run_worker(1, 2, str(tmp_path / "1b.npz"), "unpinned")
    two = tr.run_worker(2, 2, str(tmp_path / "2.npz"), "unpinned")
    assert tr.identical(one_a, one_b)  # same seed, thread count and versions: bit-identical
    difference = tr.relative_difference(one_a, two)
    assert difference <= THREADS_RTOL
    assert all(np.isfinite(w).all() for w in two) and len(two) == 4
