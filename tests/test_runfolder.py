"""Results folders are untrusted input: resume stays inside its folder, checks what it resumes,
one writer at a time, and --overwrite deletes only what wdecay wrote."""

import contextlib
import fcntl
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from wdecay import cli, runfolder
from wdecay import experiment as E
from wdecay.cli import main
from wdecay.datasets import DataSplits
from wdecay.history import History

TINY = ["--sizes", "12", "4", "10", "--no-plot", "--quiet"]


@pytest.fixture
def tiny(monkeypatch):
    """A 12-input, 10-class data set of 80 examples: an epoch takes milliseconds."""
    rng = np.random.default_rng(0)

    def make(n):
        y = np.arange(n) % 10
        X = rng.random((n, 12)) * 0.3
        X[np.arange(n), y] += 1.0
        return X, y

    splits = DataSplits(make(80), make(20), make(20))
    monkeypatch.setattr(cli, "_load_dataset", lambda spec: (splits, "small digits"))
    return splits


def one_error_line(capsys, *texts):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wdecay: error: "), err
    for text in texts:
        assert text in lines[0], lines[0]
    return lines[0]


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def experiment(out, *args):
    return main(["experiment", *TINY, "--out", str(out), *args])


def resume(out, *args):
    return main(["experiment", "--resume", str(out), "--quiet", "--no-plot", *args])


def edit_run_json(out, **change):
    path = out / "run.json"
    data = json.loads(path.read_text())
    for key, value in change.items():
        if key == "folder":
            data["runs"][0]["folder"] = value
        else:
            data["runs"][0]["settings"][key] = value
    path.write_text(json.dumps(data))


# -- 1. path traversal through run.json ---------------------------------------------------------
@pytest.mark.parametrize("folder", ["ABS", "../victim", "lmbda=5/../../victim", "LINK"])
def test_resume_writes_only_inside_its_folder_whatever_run_json_says(tiny, tmp_path, capsys,
                                                                     folder):
    evil, victim = tmp_path / "evil", tmp_path / "victim"
    assert experiment(evil, "--epochs", "1") == 0
    victim.mkdir()
    (victim / "history.csv").write_text("precious\n")
    (victim / "summary.json").write_text("{}")
    if folder == "ABS":
        folder = str(victim)
    elif folder == "LINK":
        os.symlink(victim, evil / "lmbda=5")
        folder = "lmbda=5"
    edit_run_json(evil, folder=folder)
    capsys.readouterr()
    before = snapshot(victim)
    assert resume(evil, "--epochs", "2") == 2
    one_error_line(capsys, "run folder" if folder != "lmbda=5" else "symbolic link")
    assert snapshot(victim) == before


def test_run_folder_accepts_only_names_inside_the_folder():
    assert runfolder.run_folder("out", ".") == "out"
    assert runfolder.run_folder("out", "lmbda=5_seed=1") == os.path.join("out", "lmbda=5_seed=1")
    for bad in ["..", "/etc", "a/b=c", "lmbda=5/..", "", None, 5, "x"]:
        with pytest.raises(ValueError, match="run folder"):
            runfolder.run_folder("out", bad)


# -- 2. a checkpoint that is not a regular file -----------------------------------------------
@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_resume_refuses_a_checkpoint_that_is_not_a_regular_file(tiny, tmp_path, capsys, kind):
    out = tmp_path / "d"
    assert experiment(out, "--epochs", "2") == 0
    checkpoint = out / "checkpoint-epoch2.npz"
    checkpoint.unlink()
    if kind == "fifo":
        os.mkfifo(checkpoint)
    else:
        os.symlink("/dev/zero", checkpoint)
    capsys.readouterr()
    assert resume(out, "--epochs", "3") == 2
    one_error_line(capsys, "not a regular file")


# -- 3. a tampered checkpoint ------------------------------------------------------------------
def rewrite_meta(path, top=(), settings=()):
    """Change the meta of the checkpoint at ``path`` (its weights stay)."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(str(np.load(io.BytesIO(members["meta.npy"]))))
    meta.update(top)
    meta["settings"].update(settings)
    buf = io.BytesIO()
    np.save(buf, np.array(json.dumps(meta)))
    members["meta.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.mark.parametrize("top, settings, named", [
    ({"activation": "tanh", "cost": "QuadraticCost"}, {}, "activation 'tanh'"),
    ({}, {"lmbda": 1.0}, "lmbda 1.0"),
    ({}, {"eta": 0.5}, "eta 0.5"),
    ({}, {"optimizer": "momentum"}, "optimizer 'momentum'"),
])
def test_resume_refuses_a_checkpoint_whose_meta_was_changed(tiny, tmp_path, capsys, top,
                                                            settings, named):
    out = tmp_path / "d"
    assert experiment(out, "--epochs", "2", "--lmbda", "5") == 0
    rewrite_meta(out / "checkpoint-epoch2.npz", top, settings)
    before = snapshot(out)
    capsys.readouterr()
    assert resume(out, "--epochs", "3") == 2
    one_error_line(capsys, named, "not from the same run")
    assert snapshot(out) == before  # refused before anything was written


@pytest.mark.parametrize("key, value", [("lmbda", 1.0), ("batch_size", 5), ("eta", 0.2),
                                        ("regularizer", "l1"), ("seed", 1), ("init", "default")])
def test_resume_refuses_a_run_json_that_disagrees_with_the_checkpoint(tiny, tmp_path, capsys,
                                                                      key, value):
    out = tmp_path / "d"
    assert experiment(out, "--epochs", "2", "--lmbda", "5") == 0
    history = (out / "history.csv").read_bytes()
    edit_run_json(out, **{key: value})
    capsys.readouterr()
    assert resume(out, "--epochs", "3") == 2
    one_error_line(capsys, key, "not from the same run")
    assert (out / "history.csv").read_bytes() == history


def test_python_resume_checks_every_setting_against_the_checkpoint(tiny, tmp_path):
    settings = dict(sizes=[12, 4, 10], epochs=2, lmbda=5.0, eta=0.1, batch_size=10, seed=0)
    kw = dict(table=False, progress=False, history_path=str(tmp_path / "history.csv"),
              checkpoint_dir=str(tmp_path))
    E.run(tiny, settings, **kw)
    with pytest.raises(ValueError, match=r"trained with lmbda 5\.0, the run's settings say 1"):
        E.run(tiny, {**settings, "lmbda": 1, "epochs": 3}, resume=True, **kw)
    with pytest.raises(ValueError, match="activation 'sigmoid', the run's settings say 'tanh'"):
        E.run(tiny, {**settings, "activation": "tanh", "epochs": 3}, resume=True, **kw)
    _, history, _ = E.run(tiny, {**settings, "epochs": 3}, resume=True, **kw)
    assert list(history["epoch"]) == [0, 1, 2, 3]


# -- 4. one writer at a time ---------------------------------------------------------------------
def hold_lock(folder):
    """Take the folder's lock as another process would: a separate open file description."""
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, runfolder.LOCK_NAME), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_a_second_writer_is_refused_in_one_line(tiny, tmp_path, capsys):
    out = tmp_path / "same"
    fd = hold_lock(out)
    try:
        assert experiment(out, "--epochs", "1") == 2
        one_error_line(capsys, "in use by another wdecay run")
        assert sorted(os.listdir(out)) == [runfolder.LOCK_NAME]  # nothing written
    finally:
        os.close(fd)
    assert experiment(out, "--epochs", "1") == 0  # the lock file left behind does not block
    fd = hold_lock(out)
    try:
        before = snapshot(out)
        assert resume(out, "--epochs", "2") == 2
        one_error_line(capsys, "in use by another wdecay run")
        assert snapshot(out) == before
    finally:
        os.close(fd)


def test_a_killed_holder_leaves_no_lock(tiny, tmp_path, capsys):
    out = tmp_path / "k"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(out / runfolder.LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert experiment(out, "--epochs", "1") == 2
        one_error_line(capsys, "in use")
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert experiment(out, "--epochs", "1") == 0


@pytest.mark.parametrize("exc, code", [(ValueError("boom"), 2), (KeyboardInterrupt(), 130)])
def test_the_lock_is_released_after_an_error_or_ctrl_c(tiny, tmp_path, capsys, monkeypatch,
                                                       exc, code):
    out = tmp_path / "e"

    def fail(*args, **kwargs):
        raise exc

    with monkeypatch.context() as m:
        m.setattr(E, "run", fail)
        assert experiment(out, "--epochs", "1") == code
    os.close(hold_lock(out))  # free again
    assert experiment(out, "--epochs", "1", "--overwrite") == 0


def test_overwrite_replaces_a_history_link_and_never_writes_through_it(tiny, tmp_path, capsys):
    out = tmp_path / "e"
    assert experiment(out, "--epochs", "1") == 0
    (out / "history.csv").unlink()
    os.symlink(tmp_path / "elsewhere.csv", out / "history.csv")
    assert experiment(out, "--epochs", "1", "--overwrite") == 0
    assert (out / "history.csv").is_file() and not (out / "history.csv").is_symlink()
    assert not (tmp_path / "elsewhere.csv").exists()


# -- 7. a history that is a symbolic link ------------------------------------------------------
def test_resume_refuses_a_history_that_is_a_symbolic_link(tiny, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert experiment(a, "--epochs", "2") == 0
    assert experiment(b, "--epochs", "2") == 0
    (a / "history.csv").unlink()
    os.symlink(b / "history.csv", a / "history.csv")
    before = (b / "history.csv").read_bytes()
    capsys.readouterr()
    assert resume(a, "--epochs", "3") == 2
    one_error_line(capsys, "symbolic link")
    assert (b / "history.csv").read_bytes() == before


# -- 8. a deleted checkpoint -------------------------------------------------------------------
def test_resume_refuses_a_run_whose_checkpoint_was_deleted(tiny, tmp_path, capsys):
    out = tmp_path / "d"
    assert experiment(out, "--epochs", "2") == 0
    (out / "checkpoint-epoch2.npz").unlink()
    history = (out / "history.csv").read_bytes()
    capsys.readouterr()
    assert resume(out, "--epochs", "3") == 2
    one_error_line(capsys, "no checkpoint-epoch<k>.npz", "epochs 0-2", "--overwrite")
    assert (out / "history.csv").read_bytes() == history
    assert resume(out, "--epochs", "3", "--overwrite") == 0  # asked for: train it again
    assert list(History.from_csv(out / "history.csv")["epoch"]) == [0, 1, 2, 3]


def test_resume_still_starts_a_run_that_never_finished_an_epoch(tiny, tmp_path, capsys):
    out = tmp_path / "d"
    assert experiment(out, "--epochs", "2", "--lmbda", "5", "2") == 0
    run = out / "lmbda=2"
    for p in run.iterdir():
        p.unlink()
    run.rmdir()  # as after Ctrl-C in the first run
    assert resume(out) == 0
    assert list(History.from_csv(run / "history.csv")["epoch"]) == [0, 1, 2]


# -- 9. --overwrite deletes only what wdecay wrote -----------------------------------------------
def test_overwrite_deletes_only_what_wdecay_wrote(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    assert experiment(out, "--epochs", "1") == 0
    theirs = {"notes=v2/summary.json": "{}", "notes=v2/history.csv": "mine",
              "path.json": "{}", "overlay_layer1_rms.png": "png", "notes.txt": "keep"}
    for rel, text in theirs.items():
        (out / rel).parent.mkdir(exist_ok=True)
        (out / rel).write_text(text)
    ours = ["checkpoint-epoch1.npz", "history.csv", "history.json", "model.json",
            "report.html", "run.json", "summary.json"]
    capsys.readouterr()
    assert experiment(out, "--epochs", "1") == 2
    line = one_error_line(capsys, "--overwrite")
    assert line.split("results (")[1].split(")")[0] == ", ".join(ours)  # exactly those, all
    assert experiment(out, "--epochs", "2", "--overwrite") == 0
    for rel, text in theirs.items():
        assert (out / rel).read_text() == text
    assert sorted(runfolder.recorded(out)) == sorted(
        ours[1:] + ["checkpoint-epoch2.npz"])


def test_overwrite_of_several_runs_removes_their_folders_but_not_foreign_files(tiny, tmp_path,
                                                                              capsys):
    out = tmp_path / "m"
    assert experiment(out, "--epochs", "1", "--lmbda", "5", "2") == 0
    (out / "lmbda=2" / "my-notes.txt").write_text("keep")
    assert experiment(out, "--epochs", "1", "--lmbda", "3", "--overwrite") == 0
    assert not (out / "lmbda=5").exists()
    left = sorted(p.name for p in (out / "lmbda=2").iterdir())
    assert left in (["my-notes.txt"], [runfolder.LOCK_NAME, "my-notes.txt"])
    assert (out / "history.csv").exists()


@pytest.mark.parametrize("entry", ["../victim.txt", "notes.txt", "/etc/hosts", "a/b/summary.json"])
def test_a_tampered_manifest_cannot_widen_overwrite(tiny, tmp_path, capsys, entry):
    out = tmp_path / "t"
    assert experiment(out, "--epochs", "1") == 0
    (tmp_path / "victim.txt").write_text("keep")
    (out / "notes.txt").write_text("keep")
    manifest = out / runfolder.MANIFEST_NAME
    data = json.loads(manifest.read_text())
    data["files"].append(entry)
    manifest.write_text(json.dumps(data))
    capsys.readouterr()
    before = snapshot(out)
    assert experiment(out, "--epochs", "1", "--overwrite") == 2
    one_error_line(capsys, "not a file wdecay writes")
    assert snapshot(out) == before and (tmp_path / "victim.txt").read_text() == "keep"


def test_a_symlink_loop_as_out_is_one_clear_line(tiny, tmp_path, capsys):
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    assert experiment(loop, "--epochs", "1") == 2
    one_error_line(capsys, "symbolic link that leads nowhere")


def test_earlier_results_are_checked_again_under_the_lock(tiny, tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    out.mkdir()
    real = runfolder.lock

    @contextlib.contextmanager
    def lock_after_another_run(folder):
        (out / "summary.json").write_text("{}")  # another run finished between check and lock
        with real(folder):
            yield

    monkeypatch.setattr(runfolder, "lock", lock_after_another_run)
    assert experiment(out, "--epochs", "1") == 2
    one_error_line(capsys, "(summary.json)", "--overwrite")
    assert (out / "summary.json").read_text() == "{}" and not (out / "run.json").exists()


@pytest.mark.parametrize("kind", ["dev-zero", "large"])
def test_resume_reads_run_json_only_as_a_bounded_regular_file(tiny, tmp_path, capsys, kind):
    out = tmp_path / "j"
    assert experiment(out, "--epochs", "1") == 0
    (out / "run.json").unlink()
    if kind == "dev-zero":
        os.symlink("/dev/zero", out / "run.json")
    else:
        with open(out / "run.json", "wb") as fh:
            fh.truncate((1 << 24) + 1)  # sparse
    capsys.readouterr()
    assert resume(out, "--epochs", "2") == 2
    one_error_line(capsys, "a character device" if kind == "dev-zero" else "16777217 bytes")


def test_resume_refuses_a_forged_checkpoint_that_the_history_contradicts(tiny, tmp_path, capsys):
    """run.json and the checkpoint's settings both say lmbda 5; the history was trained at 1."""
    out = tmp_path / "f"
    assert experiment(out, "--epochs", "2", "--lmbda", "1") == 0
    edit_run_json(out, lmbda=5.0)
    rewrite_meta(out / "checkpoint-epoch2.npz", settings={"lmbda": 5.0})
    before = snapshot(out)
    capsys.readouterr()
    assert resume(out, "--epochs", "3") == 2
    one_error_line(capsys, "records the penalty", "lmbda 5.0", "not from the same run")
    assert snapshot(out) == before


def test_a_new_run_never_writes_through_a_linked_run_folder(tiny, tmp_path, capsys):
    out, victim = tmp_path / "o", tmp_path / "victim"
    out.mkdir(), victim.mkdir()
    (victim / "history.csv").write_text("precious\n")
    os.symlink(victim, out / "lmbda=5")
    for extra in ([], ["--overwrite"]):
        assert experiment(out, "--epochs", "1", "--lmbda", "5", "2", *extra) == 2
        one_error_line(capsys, "run folder lmbda=5 is a symbolic link")
    assert sorted(os.listdir(victim)) == ["history.csv"]


def test_a_run_inside_a_folder_another_run_holds_is_refused(tiny, tmp_path, capsys):
    """The audit's nesting: --out nest/lmbda=7 while another run writes nest."""
    nest = tmp_path / "nest"
    fd = hold_lock(nest)
    try:
        assert experiment(nest / "lmbda=7", "--epochs", "1") == 2
        one_error_line(capsys, "lies inside it")
        assert os.listdir(nest / "lmbda=7") == []  # made, nothing written into it
    finally:
        os.close(fd)
    assert experiment(nest / "lmbda=7", "--epochs", "1") == 0


def test_a_run_whose_run_folder_another_run_holds_is_refused_before_writing(tiny, tmp_path,
                                                                             capsys):
    """The other order: nest/lmbda=7 is being written; a run of nest with lmbda 7 waits not."""
    nest = tmp_path / "nest"
    fd = hold_lock(nest / "lmbda=7")
    try:
        assert experiment(nest, "--epochs", "1", "--lmbda", "2", "7") == 2
        one_error_line(capsys, "in use by another wdecay run")
        assert not (nest / "run.json").exists()
        assert sorted(os.listdir(nest)) == [runfolder.LOCK_NAME, "lmbda=7"]
    finally:
        os.close(fd)


def test_resume_refuses_a_history_without_the_penalty_column(tiny, tmp_path, capsys):
    """The audit: run.json and checkpoint forged to lmbda 1, the penalty column deleted."""
    out = tmp_path / "r"
    assert experiment(out, "--epochs", "1") == 0
    path = out / "history.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    drop = [i for i, k in enumerate(header) if k in ("total/penalty", "total/penalized")]
    path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i not in drop)
                              for line in lines) + "\n")
    before = snapshot(out)
    assert resume(out, "--epochs", "2") == 2
    one_error_line(capsys, "records no total/penalty")
    assert snapshot(out) == before


def _with_declared_sizes(path, sizes):
    """Rewrite the .npz at ``path`` so that its meta declares ``sizes`` (arrays unchanged)."""
    import io
    import zipfile

    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(str(np.lib.format.read_array(io.BytesIO(members["meta.npy"]))))
    meta["sizes"] = sizes
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(json.dumps(meta)))
    members["meta.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_a_checkpoint_declaring_other_sizes_is_refused_before_its_arrays_are_read(tmp_path):
    """The audit: 1 MB of zeros declaring [784, 200000, 10] took 2.7 GB before the refusal."""
    import wdecay
    from wdecay import serialization

    path = tmp_path / "big.npz"
    serialization.save(wdecay.Network([4, 3, 2], seed=0), path, state={})
    _with_declared_sizes(path, [4, 3000, 2])
    with pytest.raises(ValueError, match=r"sizes \[4, 3000, 2\], the run's settings say \[4, 3, 2\]"):
        serialization.load_checkpoint(path, sizes=[4, 3, 2])
    _with_declared_sizes(path, [784, 200000, 10])
    with pytest.raises(ValueError, match="159,000,010 parameters; wdecay loads at most"):
        wdecay.load(path)


def test_huge_sizes_on_the_command_line_are_one_line(capsys):
    assert main(["experiment", "--sizes", "784", "3000000000", "10", "--epochs", "1",
                 "--quiet", "--no-plot"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wdecay: error: `sizes` [784, 3000000000, 10] "
                                               "declare 2,385,000,000,010 parameters")


def test_a_checkpoint_with_an_unknown_setting_is_refused(tiny, tmp_path, capsys):
    import wdecay
    from wdecay import experiment as E
    from wdecay import serialization

    out = tmp_path / "u"
    assert experiment(out, "--epochs", "1") == 0
    path, _ = E.checkpoints(out)[-1]
    net, stored, state = serialization.load_checkpoint(path)
    serialization.save(net, path, settings={**stored, "foo": 1}, state=state)
    assert resume(out, "--epochs", "2") == 2
    one_error_line(capsys, "records settings wdecay does not know (foo)")
    assert isinstance(wdecay.load(path), wdecay.Network)
