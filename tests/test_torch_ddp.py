"""wdecay.torch under DistributedDataParallel: two CPU processes, gloo on 127.0.0.1."""

import json
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


def _worker(rank, port, folder):
    import torch.distributed as dist

    from wdecay.torch import watch

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
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


@pytest.mark.slow  # two processes and gloo: about 10 s
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is missing")
def test_ddp_only_rank0_records_once(tmp_path):
    import torch.multiprocessing as mp

    folder = str(tmp_path / "run")
    os.makedirs(folder)
    # spawn, not fork: forked after the other torch tests had run in this process, a rank
    # hung in a futex wait (a lock held by a thread that does not exist in the child)
    mp.start_processes(_worker, args=(_free_port(), folder), nprocs=2, join=True,
                       start_method="spawn")
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
