"""History: array access, lossless CSV/JSON round trips, streaming appends."""

import math
import subprocess
import sys
import textwrap

import numpy as np

from wdecay.history import History


def sample_history():
    h = History()
    h.append({"epoch": 0, "layer1/rms": 1 / 3, "eval/accuracy": 0.1, "x": math.nan})
    h.append({"epoch": 1, "layer1/rms": np.float64(0.1 + 0.2), "eval/accuracy": 0.5,
              "x": 1e-300})
    return h


def test_getitem_returns_arrays():
    h = sample_history()
    np.testing.assert_array_equal(h["epoch"], [0, 1])
    assert h["layer1/rms"][1] == 0.1 + 0.2


def test_csv_and_json_round_trips_are_lossless(tmp_path):
    h = sample_history()
    h.to_csv(tmp_path / "h.csv")
    h.to_json(tmp_path / "h.json")
    assert History.from_csv(tmp_path / "h.csv") == h
    assert History.from_json(tmp_path / "h.json") == h


def test_streaming_file_survives_a_killed_run(tmp_path):
    path = tmp_path / "h.csv"
    script = textwrap.dedent(f"""
        import os
        from wdecay.history import History
        h = History(path={str(path)!r})
        for epoch in range(3):
            h.append({{"epoch": epoch, "v": epoch / 7}})
        os._exit(9)  # killed: no cleanup, no final write
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    back = History.from_csv(path)
    assert list(back["epoch"]) == [0, 1, 2] and back["v"][2] == 2 / 7


def test_resumed_history_appends_without_a_second_header(tmp_path):
    path = tmp_path / "h.csv"
    h = History(path=path)
    h.append({"epoch": 0, "v": 1.0})
    resumed = History(path=path)
    assert len(resumed) == 1
    resumed.append({"epoch": 1, "v": 2.0})
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,v" and lines.count("epoch,v") == 1 and len(lines) == 3
