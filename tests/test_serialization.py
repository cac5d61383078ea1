"""Save and load in network2's JSON and in npz; atomic writes; clear errors."""

import json
import os

import numpy as np
import pytest

import wdecay
from wdecay._files import atomic_write


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_round_trip(tmp_path, suffix):
    net = wdecay.Network([5, 4, 3], cost="log-likelihood", activation="tanh", seed=3)
    path = tmp_path / f"net{suffix}"
    wdecay.save(net, path)
    back = wdecay.load(path)
    assert back.sizes == net.sizes and back.cost == net.cost and back.activation == net.activation
    for a, b in zip(net.parameters(), back.parameters()):
        assert np.array_equal(a, b)


def test_json_is_network2_format(tmp_path):
    net = wdecay.Network([3, 2], cost="quadratic", seed=0)
    wdecay.save(net, tmp_path / "n.json")
    data = json.loads((tmp_path / "n.json").read_text())
    assert data["sizes"] == [3, 2] and data["cost"] == "QuadraticCost"
    assert np.array(data["biases"][0]).shape == (2, 1)
    assert np.array(data["weights"][0]).shape == (2, 3)


def test_reads_a_file_written_the_network2_way(tmp_path):
    rng = np.random.default_rng(0)
    data = {"sizes": [3, 2], "weights": [rng.standard_normal((2, 3)).tolist()],
            "biases": [rng.standard_normal((2, 1)).tolist()], "cost": "CrossEntropyCost"}
    (tmp_path / "n2.json").write_text(json.dumps(data))
    net = wdecay.load(tmp_path / "n2.json")
    np.testing.assert_array_equal(net.biases[0], np.array(data["biases"][0]).ravel())


@pytest.mark.parametrize("content, match", [
    (b"{not json", "corrupt"),
    (b'{"sizes": [3, 2], "weights": [[[1, 2]]], "biases": [[[0], [0]]], "cost": "CrossEntropyCost"}',
     "mismatched: layer 1 needs weights"),
    (b'{"sizes": [3, 2, 2], "weights": [], "biases": [], "cost": "CrossEntropyCost"}',
     "mismatched: sizes"),
    (b'{"sizes": [3, 2], "weights": [[[1,2,3],[1,2,3]]], "biases": [[[0],[0]]], "cost": "Nope"}',
     "unknown cost"),
])
def test_bad_json_files_raise_clear_errors(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        wdecay.load(path)


def test_truncated_npz_raises(tmp_path):
    path = tmp_path / "n.npz"
    wdecay.save(wdecay.Network([3, 2]), path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt, truncated"):
        wdecay.load(path)


def test_interrupted_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "n.json"
    wdecay.save(wdecay.Network([3, 2], seed=0), path)
    before = path.read_bytes()

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        wdecay.save(wdecay.Network([3, 2], seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["n.json"]  # the temporary file was removed


def test_atomic_write_replaces_content(tmp_path):
    atomic_write(tmp_path / "f", b"one")
    atomic_write(tmp_path / "f", b"two")
    assert (tmp_path / "f").read_bytes() == b"two"


@pytest.mark.parametrize("name", ["m.pkl", "m", "m.pickle", "m.json.bak"])
def test_save_refuses_an_unknown_suffix(tmp_path, name):
    with pytest.raises(ValueError, match=r"`path` must end in .json \(network2's format\) or .npz"):
        wdecay.save(wdecay.Network([3, 2]), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_accepts_upper_case_suffixes(tmp_path):
    wdecay.save(wdecay.Network([3, 2], seed=0), tmp_path / "M.NPZ")
    assert wdecay.load(tmp_path / "M.NPZ").sizes == [3, 2]


@pytest.mark.parametrize("sizes", [[3], [3, 0], [3, -2], [3, 2.5], [3, True], "32", None])
def test_invalid_sizes_are_refused_before_anything_is_built(tmp_path, sizes):
    (tmp_path / "n.json").write_text(json.dumps({"sizes": sizes, "weights": [], "biases": []}))
    with pytest.raises(ValueError, match="`sizes` must list at least 2 positive integers"):
        wdecay.load(tmp_path / "n.json")


@pytest.mark.parametrize("dtype, kind", [(np.complex128, "complex numbers"), ("<U3", "text"),
                                         (np.int64, "integers")])
def test_npz_weights_of_another_dtype_are_named_by_their_dtype(tmp_path, dtype, kind):
    import io
    import json

    path = tmp_path / "c.npz"
    meta = json.dumps({"sizes": [3, 2], "cost": "CrossEntropyCost"})
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(meta), weights_0=np.zeros((2, 3), dtype=dtype),
             biases_0=np.zeros(2))
    path.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match=rf"weights_0 holds {np.dtype(dtype)} values \({kind}\); "
                                         "a network's weights and biases are floating point"):
        wdecay.load(path)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_settings_are_stored_beside_the_network(tmp_path, suffix):
    from wdecay.serialization import load_with_settings

    net = wdecay.Network([3, 2], seed=0)
    wdecay.save(net, tmp_path / f"n{suffix}", settings={"lmbda": 5.0, "sizes": [3, 2]})
    loaded, settings = load_with_settings(tmp_path / f"n{suffix}")
    assert settings == {"lmbda": 5.0, "sizes": [3, 2]}
    np.testing.assert_array_equal(loaded.weights[0], net.weights[0])
    wdecay.save(net, tmp_path / f"m{suffix}")
    assert load_with_settings(tmp_path / f"m{suffix}")[1] is None
