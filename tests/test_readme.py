"""README.md's set-up and claims: its commands are CI's, its extras are light, its numbers measured."""

import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def quickstart():
    block = re.search(r"## Quickstart\n\n```bash\n(.*?)```", README, re.S).group(1)
    return block.strip().splitlines()


def test_quickstart_is_a_venv_then_run_then_test_and_ci_runs_it_verbatim():
    venv, run, test = quickstart()
    assert venv.startswith("python -m venv .venv")
    assert run == "pip install -e . && wdecay experiment"
    assert test == 'pip install -e ".[test]" && python -m pytest'
    assert "python -m venv .ci-venv && . .ci-venv/bin/activate" in CI
    assert run in CI and 'pip install -e ".[test]" && pytest_run python -m pytest' in CI
    # CI order: torch pinned before the project, the fast tests before the slow ones
    order = [CI.index(s) for s in ("pip install torch==2.13.0", run, '".[test]"',
                                   "pytest_run python -m pytest -m slow")]
    assert order == sorted(order)
    assert "python -m pytest -m slow" in README
    assert '[ "$status" -eq 5 ]' in CI  # nothing collected fails


def test_extras_keep_running_light_and_dev_holds_everything():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    heavy = ("dask", "sphinx", "scikit-learn")
    # the design card: the core installs with numpy and scipy alone (BLAS is pinned without
    # threadpoolctl, tests/test_threads.py)
    assert sorted(name.split(">")[0] for name in project["dependencies"]) == ["numpy", "scipy"]
    assert not any(name.startswith(heavy) for name in extras["test"])
    for extra in ("test", "docs", "fast", "plot", "distributed"):
        assert set(extras[extra]) <= set(extras["dev"]), extra


def test_the_default_test_command_runs_the_fast_suite_and_slow_tests_exist():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-m 'not slow'" in options["addopts"]
    assert sum(p.read_text().count("@pytest.mark.slow") for p in (ROOT / "tests").glob("test_*.py")) >= 10


def _table_rows():
    rows = {}
    for line in README.splitlines():
        m = re.match(r"\s*\| (adamw?)\s*\|(.*)\|\s*$", line)
        if m:
            cells = [c.strip().split(", ") for c in m.group(2).split("|")]
            rows[m.group(1)] = [(float(a), float(f)) for a, f in cells]
    return rows


def test_adaptive_eta_table_is_the_stored_measurement():
    stored = json.loads((ROOT / "docs" / "figures" / "adaptive_eta.json").read_text())
    assert stored["epochs"] == 30
    quoted = _table_rows()
    assert set(quoted) == {"adam", "adamw"}
    for r in stored["rows"]:
        accuracy, factor = quoted[r["optimizer"]][[0.1, 0.01, 0.001].index(r["eta"])]
        assert accuracy == round(r["test_accuracy"], 4) and factor == round(r["factors"][0], 3)
    from wdecay.optim import OPTIMIZERS, declaration, get_optimizer

    best = {name: max((r for r in stored["rows"] if r["optimizer"] == name),
                      key=lambda r: r["test_accuracy"])["eta"] for name in ("adam", "adamw")}
    # the eta each shipped optimizer declares it advises (the CLI's warning) is the measured best
    advised = {name: declaration(get_optimizer(name), "advised_eta") for name in OPTIMIZERS}
    assert {k: a.eta for k, a in advised.items() if a is not None} == best
    assert {a.see for a in advised.values() if a is not None} == {"README"}
    assert f"`--eta {best['adam']:g}` with\n  adam" in README
    assert f"`--eta {best['adamw']:g}` with adamw" in README


@pytest.mark.slow
def test_adaptive_eta_row_is_reproduced():
    """AdamW at SGD's eta 0.1: the row that shows why the warning exists (about 15 s)."""
    import runpy

    from wdecay.datasets import load_mnist_sample

    stored = json.loads((ROOT / "docs" / "figures" / "adaptive_eta.json").read_text())
    row = next(r for r in stored["rows"] if (r["optimizer"], r["eta"]) == ("adamw", 0.1))
    measure = runpy.run_path(str(ROOT / "examples" / "adaptive_eta.py"))["measure"]
    fresh = measure("adamw", 0.1, stored["epochs"], load_mnist_sample())
    assert fresh["test_accuracy"] == pytest.approx(row["test_accuracy"], abs=2e-3)
    assert fresh["factors"] == pytest.approx(row["factors"], rel=1e-6)
