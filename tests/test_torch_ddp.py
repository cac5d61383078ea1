"""wdecay.torch under DistributedDataParallel: two CPU processes, gloo on 127.0.0.1."""

import datetime
import json
import multiprocessing
import os
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="wdecay.torch needs PyTorch (pip install torch==2.13.0)")

EPOCHS, STEPS = 2, 3


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, folder):
    """One rank's training, watched; its result in ``folder/rank{rank}.json``.

    MASTER_ADDR, MASTER_PORT and GLOO_SOCKET_IFNAME come from the environment.
    """
    import torch.distributed as dist

    from wdecay.torch import watch

    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=120))
    try:
        torch.manual_seed(0)  # the same initial weights on both ranks
        model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Sigmoid(),
                                    torch.nn.Linear(4, 2)).double()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.2, momentum=0.9, weight_decay=0.05)
        gen = torch.Generator().manual_seed(rank)  # each rank its own data
        with watch(ddp, opt, path=folder) as rec:
            for _ in range(EPOCHS):
                for _ in range(STEPS):
                    opt.zero_grad()
                    ddp(torch.randn(5, 6, generator=gen, dtype=torch.float64)).pow(2).sum().backward()
                    opt.step()
                rec.epoch_end()
        names = [t.name for t in rec.tensors]
        result = {"active": rec.active, "records": len(rec.history), "names": names}
        if rec.active:
            h = rec.history
            result["identity"] = max(
                float(np.max(np.abs(sum(h[f"{n}/budget_{k}"][1:] for k in "DGQ")
                                    - h[f"{n}/budget_measured"][1:])
                             / np.abs(h[f"{n}/budget_G"][1:]))) for n in names)
        with open(os.path.join(folder, f"rank{rank}.json"), "w") as fh:
            json.dump(result, fh)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two processes and gloo
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is missing")
def test_ddp_only_rank0_records_once(tmp_path, monkeypatch):
    folder = str(tmp_path / "run")
    os.makedirs(folder)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    # rank 1 is spawned, not forked: forked after the other torch tests had run in this
    # process, a rank hung in a futex wait (a lock held by a thread that does not exist in
    # the child). Rank 0 runs here, in the test process, where torch and what its first
    # optimizer step imports (torch._dynamo) are loaded already: a spawned rank took 3-4 s
    # to import them, and so does rank 1
    rank1 = multiprocessing.get_context("spawn").Process(target=_worker, args=(1, folder))
    rank1.start()
    threads = torch.get_num_threads()
    try:
        with torch.random.fork_rng():  # the rank seeds torch: later tests keep their RNG
            _worker(0, folder)
    finally:
        torch.set_num_threads(threads)
        rank1.join(timeout=120)
        if rank1.is_alive():
            rank1.kill()
            rank1.join()
    assert rank1.exitcode == 0
    r0 = json.load(open(os.path.join(folder, "rank0.json")))
    r1 = json.load(open(os.path.join(folder, "rank1.json")))
    assert r0["active"] and not r1["active"] and r1["records"] == 0
    assert r0["records"] == EPOCHS + 1
    assert r0["names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]  # no "module." prefix
    assert r0["identity"] < 1e-12
    with open(os.path.join(folder, "history.csv"), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert len(lines) == 1 + EPOCHS + 1  # header and one line per epoch: recorded once
    assert sorted(os.listdir(folder)) == ["history.csv", "history.json", "rank0.json",
                                          "rank1.json", "report.html"]
