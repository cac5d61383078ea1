"""The command line: the experiment prints its table and summary and writes its files."""

import json
import subprocess
import sys

from wdecay.cli import main
from wdecay.history import History


def test_experiment_writes_files_and_summary(tmp_path, capsys):
    assert main(["experiment", "--epochs", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "eval acc" in out and "Layer 1 (30, 784): RMS shrank" in out
    for name in ("history.csv", "history.json", "summary.json", "model.json"):
        assert (tmp_path / name).exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["layers"][0]["factor"] < 1
    assert History.from_csv(tmp_path / "history.csv") == History.from_json(tmp_path / "history.json")


def test_json_format_and_bad_input(capsys):
    assert main(["experiment", "--epochs", "1", "--format", "json", "--sizes", "784,5,10"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["shape"] == [5, 784]
    assert main(["experiment", "--epochs", "1", "--eta", "-1"]) == 2
    assert "`eta` must be > 0" in capsys.readouterr().err


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "wdecay", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "experiment" in proc.stdout
