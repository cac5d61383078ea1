"""History: array access, lossless CSV/JSON round trips, streaming appends and file modes."""

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import wdecay
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


def test_keys_is_a_method():
    h = sample_history()
    assert h.keys() == ["epoch", "layer1/rms", "eval/accuracy", "x"]
    assert callable(h.keys) and h.keys() is not h.keys()  # a fresh list each call


def test_csv_and_json_round_trips_are_lossless(tmp_path):
    h = sample_history()
    h.to_csv(tmp_path / "h.csv")
    h.to_json(tmp_path / "h.json")
    assert History.from_csv(tmp_path / "h.csv") == h
    assert History.from_json(tmp_path / "h.json") == h


VALUES = ["1e5", "007", "7", "", "'", "'quoted", "True", "False", "nan", "inf", "-0.0",
          "text, with comma", 'a "quote"', True, False, 7, -3, 10**30, 1e5, 0.1 + 0.2,
          math.inf, -math.inf, -0.0, 5e-324, np.int64(4), np.float32(0.5), np.bool_(True)]


def test_csv_round_trip_keeps_every_value_and_its_type(tmp_path):
    h = History([{"epoch": 0, **{f"v{i}": v for i, v in enumerate(VALUES)}}])
    h.to_csv(tmp_path / "h.csv")
    back = History.from_csv(tmp_path / "h.csv")
    assert back == h
    for i, v in enumerate(VALUES):
        got = back[0][f"v{i}"]
        plain = v.item() if isinstance(v, np.generic) else v
        assert type(got) is type(plain) and (got == plain or got != got), (v, got)
    assert back[0]["v0"] == "1e5" and back[0]["v1"] == "007" and back[0]["v13"] is True


def test_unsupported_values_are_refused_with_their_key():
    with pytest.raises(TypeError, match="'w' is list"):
        History().append({"epoch": 0, "w": [1, 2]})


def test_json_is_strict_and_reads_null_back_as_nan(tmp_path):
    h = History([{"epoch": 0, "a": math.nan, "b": math.inf}])
    h.to_json(tmp_path / "h.json")
    text = (tmp_path / "h.json").read_text()
    assert "NaN" not in text and "Infinity" not in text and "null" in text
    back = History.from_json(tmp_path / "h.json")
    assert math.isnan(back[0]["a"]) and math.isnan(back[0]["b"])  # inf does not survive JSON


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


def test_new_mode_refuses_an_existing_file(tmp_path):
    path = tmp_path / "h.csv"
    History(path=path).append({"epoch": 0, "v": 1.0})
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="mode='append'"):
        History(path=path)
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="`mode` must be one of"):
        History(path=path, mode="continue")


def test_overwrite_mode_replaces_the_file(tmp_path):
    path = tmp_path / "h.csv"
    History(path=path).append({"epoch": 0, "v": 1.0})
    h = History(path=path, mode="overwrite")
    h.append({"epoch": 0, "w": 2.0})
    assert History.from_csv(path) == h and "v" not in History.from_csv(path)


def test_append_mode_continues_without_a_second_header(tmp_path):
    path = tmp_path / "h.csv"
    History(path=path).append({"epoch": 0, "v": 1.0})
    resumed = History(path=path, mode="append")
    assert len(resumed) == 1
    resumed.append({"epoch": 1, "v": 2.0})
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,v" and lines.count("epoch,v") == 1 and len(lines) == 3


def test_records_and_path_with_a_new_key_keep_the_files_rows(tmp_path):
    path = tmp_path / "h.csv"
    h = History(path=path)
    h.append({"epoch": 0, "v": 1.0})
    h.append({"epoch": 1, "v": 2.0})
    more = History(records=[{"epoch": 2, "v": 3.0}], path=path, mode="append")
    more.append({"epoch": 3, "v": 4.0, "new": 1})  # a new key rewrites the file from memory
    back = History.from_csv(path)
    assert list(back["epoch"]) == [0, 1, 2, 3] and back["v"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_last_line_without_newline_is_not_glued(tmp_path):
    """Another tool's file (\\n line ends): a complete last row is kept, then continued."""
    path = tmp_path / "h.csv"
    path.write_text("epoch,v\n0,1.0\n1,2.0", newline="")  # complete row, newline missing
    h = History(path=path, mode="resume")
    h.append({"epoch": 2, "v": 3.0})
    assert History.from_csv(path)["v"].tolist() == [1.0, 2.0, 3.0]


def test_a_row_of_ours_without_its_line_end_is_dropped_even_if_complete(tmp_path):
    """wdecay ends rows with \\r\\n: without it the last number may be cut (1.0 of 1.05)."""
    path = tmp_path / "h.csv"
    path.write_text("epoch,v\r\n0,1.0\r\n1,1.0", newline="")
    with pytest.warns(UserWarning, match="dropped its last row"):
        h = History(path=path, mode="resume")
    assert h["v"].tolist() == [1.0]


def test_a_torn_last_row_is_dropped_on_resume(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("epoch,v,w\r\n0,1.0,5\r\n1,2.0")  # cut short mid-row
    with pytest.raises(ValueError, match="cut short"):
        History.from_csv(path)
    with pytest.warns(UserWarning, match="dropped its last row"):
        h = History(path=path, mode="resume")
    assert len(h) == 1
    h.append({"epoch": 1, "v": 2.5, "w": 6})
    assert History.from_csv(path)["v"].tolist() == [1.0, 2.5]


def test_resume_mode_needs_the_file_and_no_records(tmp_path):
    with pytest.raises(FileNotFoundError, match="no history to resume"):
        History(path=tmp_path / "none.csv", mode="resume")
    History(path=tmp_path / "h.csv").append({"epoch": 0})
    with pytest.raises(ValueError, match="do not pass `records`"):
        History(records=[{"epoch": 1}], path=tmp_path / "h.csv", mode="resume")


def test_check_resumable_matches_records_with_the_network():
    net = wdecay.Network([3, 2], seed=0)
    rms = math.sqrt(float(np.vdot(net.weights[0], net.weights[0])) / 6)
    h = History([{"epoch": 0, "layer1/rms": rms}])
    h.check_resumable(net, 0)
    with pytest.raises(ValueError, match="no record of epoch 1, the checkpoint's"):
        h.check_resumable(net, 1)
    # rows after the checkpoint's epoch are ignored (truncate drops them after the check)
    later = History([{"epoch": 0, "layer1/rms": rms}, {"epoch": 1, "layer1/rms": 9.0}])
    later.check_resumable(net, 0)
    assert len(later) == 2
    with pytest.raises(ValueError, match="network has 1 layers"):
        History([{"epoch": 0, "layer2/rms": 1.0}]).check_resumable(net)
    with pytest.raises(ValueError, match="not from the same run"):
        History([{"epoch": 0, "layer1/rms": rms * 1.01}]).check_resumable(net)


def test_truncate_drops_later_epochs_in_the_file_too(tmp_path):
    h = History(path=tmp_path / "h.csv")
    for e in range(4):
        h.append({"epoch": e})
    assert h.truncate(1) == 2
    assert list(History.from_csv(tmp_path / "h.csv")["epoch"]) == [0, 1]


# -- untrusted history files (issue 23) -------------------------------------------------------
def diagnosed_fit(net, history, epochs=1):
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 4)), rng.integers(0, 2, 20)
    return net.fit(X, y, epochs=epochs, batch_size=10, eta=0.5, regularizer=wdecay.L2(1.0),
                   monitors=wdecay.monitors.diagnostics(), seed=0, history=history)


def test_fit_refuses_a_resumed_history_of_another_network(tmp_path):
    path = tmp_path / "h.csv"
    net = wdecay.Network([4, 3, 2], seed=0)
    diagnosed_fit(net, History(path=path), epochs=2)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="layer 1 RMS .* not from the same run"):
        diagnosed_fit(wdecay.Network([4, 3, 2], seed=0), History(path=path, mode="resume"))
    assert path.read_bytes() == before
    h = diagnosed_fit(net, History(path=path, mode="resume"))  # its own network continues
    assert list(h["epoch"]) == [0, 1, 2, 3]


@pytest.mark.parametrize("history", [{}, [], "h.csv"])
def test_fit_names_history_when_it_is_not_a_history(history):
    with pytest.raises(TypeError, match="`history` must be a wdecay.History"):
        diagnosed_fit(wdecay.Network([4, 3, 2], seed=0), history)


def test_resume_refuses_a_csv_without_an_epoch_column(tmp_path):
    path = tmp_path / "foreign.csv"
    path.write_text("name,score\nann,1\n")
    with pytest.raises(ValueError, match="no 'epoch' column"):
        History(path=path, mode="resume")
    path.write_text("epoch,x\n0,1\n2,1\n")
    with pytest.raises(ValueError, match="line 3 has epoch 2 where epoch 1 belongs"):
        History(path=path, mode="resume")
    assert path.read_text() == "epoch,x\n0,1\n2,1\n"


def test_a_duplicated_column_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("epoch,x,x\n0,1,2\n")
    for read in (History.from_csv, lambda p: History(path=p, mode="append")):
        with pytest.raises(ValueError, match=r"dup.csv: the header names column 'x' twice"):
            read(path)


@pytest.mark.parametrize("mode", ["append", "resume", "overwrite", "new"])
def test_a_history_path_that_is_a_symbolic_link_is_refused(tmp_path, mode):
    target, link = tmp_path / "target.csv", tmp_path / "link.csv"
    History([{"epoch": 0, "a": 1}]).to_csv(target)
    os.symlink(target, link)
    before = target.read_bytes()
    with pytest.raises(ValueError, match="link.csv is a symbolic link .*target.csv"):
        History(path=link, mode=mode)
    assert target.read_bytes() == before and link.is_symlink()


def test_an_epoch_that_is_not_a_number_names_the_file_and_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("epoch,x\n0,1\nabc,2\n")
    with pytest.raises(ValueError, match=r"h.csv: line 3 has epoch 'abc'; an epoch is a whole"):
        History.from_csv(path)
    with pytest.raises(ValueError, match="record 0 has epoch 'abc'"):
        History([{"epoch": "abc"}])


def test_a_binary_file_is_refused_as_not_text(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" + bytes(range(256)))
    for read in (History.from_csv, History.from_json):
        with pytest.raises(ValueError, match=r"h.csv is not a text file \(byte 0 is not UTF-8\)") \
                as info:
            read(path)
        assert not isinstance(info.value, UnicodeDecodeError)
    path.write_bytes(b"epoch,x\n0,\x001\n")
    with pytest.raises(ValueError, match=r"h.csv is not a text file \(character 10 is NUL\)"):
        History.from_csv(path)


@pytest.mark.parametrize("records, match", [
    ([1, 2], "record 0 is int, not an object"),
    ([{"epoch": 0}, "x"], "record 1 is str, not an object"),
    ([{"epoch": 0, "v": [1, 2]}], "record 0 holds 'v': list"),
    ([{"epoch": 0.5}], "epoch 0.5"),
])
def test_from_json_refuses_records_that_are_not_flat_objects(tmp_path, records, match):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"records": records}))
    with pytest.raises(ValueError, match=match):
        History.from_json(path)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_history_files_that_are_not_regular_files_are_refused(tmp_path, kind):
    path = tmp_path / "h.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        os.symlink("/dev/zero", path)
    for read in (History.from_csv, History.from_json):
        with pytest.raises(ValueError, match="not a regular file"):
            read(path)


@pytest.mark.parametrize("record", [{"epoch": 1, "a": 2}, {"epoch": 1, "a": 2, "new": 3}])
def test_a_history_file_replaced_by_a_link_later_is_not_written_through(tmp_path, record):
    path, target = tmp_path / "h.csv", tmp_path / "target.csv"
    target.write_text("theirs\n")
    h = History(path=path)
    h.append({"epoch": 0, "a": 1})
    path.unlink()
    os.symlink(target, path)
    with pytest.raises((OSError, ValueError), match="h.csv"):
        h.append(record)
    assert target.read_text() == "theirs\n" and path.is_symlink()


def test_fit_refuses_to_resume_a_history_it_cannot_check(tmp_path):
    """The audit: a history without layer RMS (fit's default records) checks nothing."""
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 2, 30)
    path = tmp_path / "plain.csv"
    wdecay.Network([4, 3, 2], seed=0).fit(X, y, epochs=2, batch_size=5, eta=0.5,
                                          history=History(path=path))
    before = path.read_bytes()
    with pytest.raises(ValueError, match="records no layer1/rms .* cannot be checked"):
        wdecay.Network([4, 3, 2], seed=1).fit(X, y, epochs=1, batch_size=5, eta=0.5,
                                              history=History(path=path, mode="resume"))
    assert path.read_bytes() == before


def test_fit_refuses_to_resume_with_another_penalty(tmp_path):
    """The audit: a history trained with L2(5) continued with L2(1) is not the same run."""
    path = tmp_path / "h.csv"
    net = wdecay.Network([4, 3, 2], seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 2, 30)
    kw = dict(batch_size=5, eta=0.5, monitors=[wdecay.monitors.WeightNorms()])
    net.fit(X, y, epochs=2, regularizer=wdecay.L2(5.0), history=History(path=path), **kw)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="records the penalty .* L2\\(lmbda=1.0\\)"):
        net.fit(X, y, epochs=1, regularizer=wdecay.L2(1.0),
                history=History(path=path, mode="resume"), **kw)
    assert path.read_bytes() == before
    h = net.fit(X, y, epochs=1, regularizer=wdecay.L2(5.0),
                history=History(path=path, mode="resume"), **kw)
    assert list(h["epoch"]) == [0, 1, 2, 3]


def test_a_history_with_another_hard_link_is_refused(tmp_path):
    """The audit: history.csv hard-linked to another run's file got that run's epochs."""
    other = tmp_path / "other.csv"
    h = History(path=other)
    h.append({"epoch": 0, "x": 1.0})
    before = other.read_bytes()
    os.link(other, tmp_path / "mine.csv")
    for mode in ("append", "resume", "overwrite"):
        with pytest.raises(ValueError, match="2 hard links"):
            History(path=tmp_path / "mine.csv", mode=mode)
    assert other.read_bytes() == before
